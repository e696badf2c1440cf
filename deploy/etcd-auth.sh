#!/bin/sh
# Turns on etcd's authentication once the cluster is up: a root user with the root role. The rota
# nodes act as root through their client certificate's common name (CN=root); people can use the
# password in $ROOT_PASSWORD. Run it once, from any machine with the client certificate.
#   ROOT_PASSWORD=… deploy/etcd-auth.sh ENDPOINTS CERTS
set -eu
endpoints=$1 certs=$2
ctl() { etcdctl --endpoints "$endpoints" --cacert "$certs/ca.crt" --cert "$certs/client.crt" --key "$certs/client.key" "$@"; }
ctl user add root --new-user-password "${ROOT_PASSWORD:?set ROOT_PASSWORD}"
ctl user grant-role root root
ctl auth enable
ctl endpoint health
