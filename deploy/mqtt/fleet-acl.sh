#!/bin/sh
# Per-gateway credentials and ACLs on Mosquitto's dynamic-security plugin (mosquitto_ctrl dynsec).
#
#   fleet-acl.sh gateway SITE ID PASSWORD    a gateway: publishes only under its own topics, reads only its own commands
#   fleet-acl.sh operator NAME PASSWORD      a console (backworks fleet): reads everything, sends commands
#
# Connection to the broker's admin account comes from $MOSQUITTO_CTRL (the options of mosquitto_ctrl),
# e.g. MOSQUITTO_CTRL="-h broker.example -p 8883 --cafile ca.pem -u admin -P $ADMIN_PASSWORD".
# Re-running for an existing name fails on createRole/createClient and changes nothing else.
set -eu
ctrl() { # shellcheck disable=SC2086
  mosquitto_ctrl ${MOSQUITTO_CTRL:-} dynsec "$@"; }

case "${1:-}" in
  gateway)
    [ $# -eq 4 ] || { echo "usage: $0 gateway SITE ID PASSWORD" >&2; exit 2; }
    site=$2; id=$3; password=$4; name="gw-$site-$id"
    ctrl createRole "$name"
    # What it sends: its Backworks topics, its Sparkplug node and device topics, answers to operators.
    ctrl addRoleACL "$name" publishClientSend "backworks/$site/$id/#" allow
    ctrl addRoleACL "$name" publishClientSend "spBv1.0/$site/+/$id/#" allow
    ctrl addRoleACL "$name" publishClientSend "backworks/_ops/#" allow
    # What it reads: only its own commands, and the Sparkplug host STATE.
    ctrl addRoleACL "$name" subscribePattern "backworks/$site/$id/cmd/#" allow
    ctrl addRoleACL "$name" subscribePattern "spBv1.0/$site/NCMD/$id" allow
    ctrl addRoleACL "$name" subscribePattern "spBv1.0/$site/DCMD/$id/+" allow
    ctrl addRoleACL "$name" subscribePattern "spBv1.0/STATE/+" allow
    ctrl createClient "$name" -p "$password"
    ctrl addClientRole "$name" "$name"
    ;;
  operator)
    [ $# -eq 3 ] || { echo "usage: $0 operator NAME PASSWORD" >&2; exit 2; }
    name=$2; password=$3
    ctrl createRole "$name"
    ctrl addRoleACL "$name" subscribePattern "backworks/#" allow
    ctrl addRoleACL "$name" subscribePattern "spBv1.0/#" allow
    ctrl addRoleACL "$name" publishClientSend "backworks/+/+/cmd/#" allow
    ctrl addRoleACL "$name" publishClientSend "spBv1.0/+/NCMD/+" allow
    ctrl addRoleACL "$name" publishClientSend "spBv1.0/+/DCMD/+/+" allow
    ctrl addRoleACL "$name" publishClientSend "spBv1.0/STATE/$name" allow
    ctrl createClient "$name" -p "$password"
    ctrl addClientRole "$name" "$name"
    ;;
  *)
    echo "usage: $0 gateway SITE ID PASSWORD | operator NAME PASSWORD" >&2; exit 2 ;;
esac
