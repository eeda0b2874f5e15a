//! Whether a unit code is valid UCUM (case-sensitive "c/s" form), by the grammar of the UCUM
//! specification (§ 2.1 syntax, § 3 the atoms): terms of components joined by `.` and `/`,
//! a component being a unit atom with an optional metric prefix (only on metric atoms) and an
//! exponent, an integer factor, an `{annotation}`, or a term in parentheses. Only codes that
//! pass are marked `http://unitsofmeasure.org` in a Quantity: `mg/dL`, `10*3/uL`, `mm[Hg]`,
//! `{cells}/uL` and `%` do; `mmHg`, `IU/L`, `x10E3/uL`, `beats/min` do not (their text stays).

/// Prefixes (§ 3.2 table 1), longest first so `da` wins over `d`.
const PREFIXES: &[&str] = &[
    "da", "Ki", "Mi", "Gi", "Ti", "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d", "c", "m", "u", "n", "p", "f", "a", "z", "y",
];

/// Atoms that take a prefix (the metric ones of the UCUM tables).
const METRIC: &[&str] = &[
    "m", "s", "g", "rad", "K", "C", "cd", "mol", "sr", "Hz", "N", "Pa", "J", "W", "A", "V", "F", "Ohm", "S", "Wb", "Cel", "T", "H", "lm", "lx",
    "Bq", "Gy", "Sv", "L", "l", "ar", "t", "bar", "u", "eV", "pc", "[c]", "[h]", "[k]", "[eps_0]", "[mu_0]", "[e]", "[m_e]", "[m_p]", "[G]",
    "[g]", "[ly]", "gf", "Ky", "Gal", "dyn", "erg", "P", "St", "Mx", "G", "Oe", "Gb", "sb", "Lmb", "ph", "Ci", "R", "RAD", "REM", "cal",
    "[iU]", "[IU]", "eq", "osm", "g%", "kat", "U", "B", "Np", "mho", "st", "m[Hg]", "m[H2O]", "bit", "By", "Bd", "[S]", "Bi", "cal_[15]",
    "cal_[20]", "cal_m", "cal_IT", "cal_th", "B[SPL]", "B[V]", "B[mV]", "B[uV]", "B[10.nV]", "B[W]", "B[kW]",
];

/// Atoms that take no prefix.
const NON_METRIC: &[&str] = &[
    "10*", "10^", "[pi]", "%", "[ppth]", "[ppm]", "[ppb]", "[pptr]", "gon", "deg", "'", "''", "min", "h", "d", "a_t", "mo_s", "mo_j", "a_j",
    "mo_g", "a_g", "wk", "mo", "a", "AU", "Ao", "b", "att", "[in_i]", "[ft_i]", "[yd_i]", "[mi_i]", "[fth_i]", "[nmi_i]", "[kn_i]", "[sin_i]",
    "[sft_i]", "[syd_i]", "[cin_i]", "[cft_i]", "[cyd_i]", "[mil_i]", "[hd_i]", "[lb_av]", "[oz_av]", "[dr_av]", "[gr]", "[ston_av]",
    "[gal_us]", "[qt_us]", "[pt_us]", "[foz_us]", "[fdr_us]", "[min_us]", "[tbs_us]", "[tsp_us]", "[cup_us]", "[gal_br]", "[pt_br]",
    "[qt_br]", "[foz_br]", "[degF]", "[degR]", "[degRe]", "[Cal]", "[pH]", "[drp]", "[HPF]", "[LPF]", "[arb'U]", "[USP'U]", "[GPL'U]",
    "[MPL'U]", "[APL'U]", "[beth'U]", "[anti'Xa'U]", "[todd'U]", "[dye'U]", "[smgy'U]", "[bdsk'U]", "[ka'U]", "[knk'U]", "[mclg'U]",
    "[tb'U]", "[CCID_50]", "[TCID_50]", "[EID_50]", "[PFU]", "[FFU]", "[CFU]", "[BAU]", "[AU]", "[Amb'a'1'U]", "[PNU]", "[Lf]", "[D'ag'U]",
    "[FEU]", "[ELU]", "[EU]", "[in_i'H2O]", "[in_i'Hg]", "[mesh_i]", "[Ch]", "[diop]", "[p'diop]", "%[slope]", "[hnsf'U]", "[MET]",
    "[hp_X]", "[hp_C]", "[hp_M]", "[hp_Q]", "[kp_X]", "[kp_C]", "[kp_M]", "[kp_Q]", "[lne]", "[pnt]", "[pca]", "[pied]", "[pouce]",
    "[ligne]", "[didot]", "[cicero]", "[car_m]", "[car_Au]", "[smoot]", "[wood'U]", "[IR]", "[tbs_m]", "[tsp_m]", "[cup_m]", "[foz_m]",
    "[bu_us]", "[pk_br]", "[bu_br]", "[gil_us]", "[gil_br]", "[crd_us]", "[bbl_us]", "[dpt_us]", "[lcwt_av]", "[scwt_av]", "[lton_av]",
    "[stone_av]", "[pwt_tr]", "[oz_tr]", "[lb_tr]", "[sc_ap]", "[dr_ap]", "[oz_ap]", "[lb_ap]", "[oz_m]", "[psi]", "[mu]", "[rch_us]",
    "[lk_us]", "[ch_us]", "[rd_us]", "[fur_us]", "[mi_us]", "[acr_us]", "[srd_us]", "[smi_us]", "[sct]", "[twp]", "[mil_us]", "[ft_us]",
    "[yd_us]", "[in_us]", "[rd_br]", "[ch_br]", "[lk_br]", "[fth_br]", "[pc_br]", "[nmi_br]", "[kn_br]", "[acr_br]", "[in_br]", "[ft_br]",
    "[yd_br]", "[mi_br]", "circ", "sph", "[mi_i]",
];

fn is_atom(symbol: &str) -> bool {
    METRIC.contains(&symbol) || NON_METRIC.contains(&symbol)
}

/// An atom, or a prefix and a metric atom.
fn simple_unit(symbol: &str) -> bool {
    is_atom(symbol) || PREFIXES.iter().any(|p| symbol.strip_prefix(p).is_some_and(|rest| METRIC.contains(&rest)))
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    /// term := component (('.' | '/') component)*
    fn term(&mut self) -> bool {
        if !self.component() {
            return false;
        }
        while matches!(self.peek(), Some(b'.' | b'/')) {
            self.at += 1;
            if !self.component() {
                return false;
            }
        }
        true
    }

    /// component := annotatable annotation? | annotation | factor | '(' term ')'
    fn component(&mut self) -> bool {
        match self.peek() {
            Some(b'(') => {
                self.at += 1;
                let ok = self.term() && self.peek() == Some(b')');
                self.at += 1;
                ok && self.annotation_opt()
            }
            Some(b'{') => self.annotation(),
            Some(b) if b.is_ascii_digit() && !self.s[self.at..].starts_with(b"10*") && !self.s[self.at..].starts_with(b"10^") => {
                self.digits();
                self.annotation_opt()
            }
            Some(_) => self.annotatable() && self.annotation_opt(),
            None => false,
        }
    }

    /// A unit symbol (brackets kept whole, `10*`/`10^` as one atom), then an optional exponent.
    fn annotatable(&mut self) -> bool {
        let start = self.at;
        if self.s[self.at..].starts_with(b"10*") || self.s[self.at..].starts_with(b"10^") {
            self.at += 3;
        } else {
            while let Some(b) = self.peek() {
                match b {
                    b'[' => match self.s[self.at..].iter().position(|&c| c == b']') {
                        Some(end) => self.at += end + 1,
                        None => return false,
                    },
                    b'.' | b'/' | b'(' | b')' | b'{' | b'}' | b'+' | b'-' => break,
                    b if b.is_ascii_digit() => break,
                    b if b.is_ascii_graphic() => self.at += 1,
                    _ => return false,
                }
            }
        }
        let Ok(symbol) = std::str::from_utf8(&self.s[start..self.at]) else { return false };
        if symbol.is_empty() || !simple_unit(symbol) {
            return false;
        }
        // exponent := ('+' | '-')? digits
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.at += 1;
            return self.digits() > 0;
        }
        self.digits();
        true
    }

    fn annotation_opt(&mut self) -> bool {
        self.peek() != Some(b'{') || self.annotation()
    }

    /// '{' printable ASCII but braces '}'
    fn annotation(&mut self) -> bool {
        self.at += 1;
        while let Some(b) = self.peek() {
            self.at += 1;
            match b {
                b'}' => return true,
                b'{' => return false,
                b if (0x20..0x7f).contains(&b) => {}
                _ => return false,
            }
        }
        false
    }
}

/// True when `code` is a valid UCUM expression.
pub fn is_valid(code: &str) -> bool {
    if code.is_empty() || code.len() > 200 {
        return false;
    }
    let mut p = Parser { s: code.as_bytes(), at: 0 };
    if p.peek() == Some(b'/') {
        p.at += 1;
    }
    p.term() && p.at == p.s.len()
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn valid_ucum() {
        for code in [
            "mg/dL", "mg", "g/dl", "mmol/L", "10*3/uL", "10*9/L", "10^6/mL", "mm[Hg]", "cm[H2O]", "%", "{cells}/uL", "/min", "{beats}/min",
            "kg/m2", "m2", "s-1", "ug/(24.h)", "mL/min/{1.73_m2}", "[IU]/L", "[iU]/mL", "U/L", "fL", "pg", "Cel", "[degF]", "[in_i]", "[lb_av]",
            "1", "{ratio}", "mL", "mosm/kg", "ng/mL", "meq/L", "kPa", "dag", "Ms", "[pH]", "mU/L", "umol/L", "g/(kg.d)", "wk", "mo", "a",
        ] {
            assert!(is_valid(code), "{code} is UCUM");
        }
    }

    #[test]
    fn not_ucum() {
        for code in [
            "", "mmHg", "IU/L", "x10E3/uL", "beats/min", "mg/dL ", "mg//dL", "kmin", "(mg", "{open", "mg.", "cells/uL", "mcg", "cc", "sec",
            "hr", "lbs", "Kg", "m-", "[foo]", "dekag", "ug/24h",
        ] {
            assert!(!is_valid(code), "{code:?} is not UCUM");
        }
    }
}
