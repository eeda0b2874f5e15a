//! Parse throughput for bench/hl7: parses the given files over and over for about two seconds,
//! decoding every field down to its sub-components (what a JS parser's tree holds), and prints
//! {"mb_per_s": N, "messages_per_s": N}.
use std::time::Instant;

use hl7_plugin::message::Message;

fn main() {
    let texts: Vec<String> = std::env::args().skip(1).map(|p| std::fs::read_to_string(p).expect("fixture")).collect();
    let bytes_per_round: usize = texts.iter().map(String::len).sum();
    let started = Instant::now();
    let (mut rounds, mut leaves) = (0u64, 0usize);
    while started.elapsed().as_secs_f64() < 2.0 {
        for text in &texts {
            let m = Message::parse(text).expect("fixtures parse");
            let s = m.separators;
            for seg in &m.segments {
                for field in &seg.fields {
                    for rep in field.split(s.repetition as char) {
                        for comp in rep.split(s.component as char) {
                            for sub in comp.split(s.subcomponent as char) {
                                leaves += m.unescape(sub).len();
                            }
                        }
                    }
                }
            }
        }
        rounds += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let mb = (rounds as f64 * bytes_per_round as f64) / 1e6;
    println!("{{\"mb_per_s\":{:.2},\"messages_per_s\":{:.0},\"checksum\":{leaves}}}", mb / secs, rounds as f64 * texts.len() as f64 / secs);
}
