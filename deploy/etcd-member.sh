#!/bin/sh
# One member of the fleet's etcd, as production wants it: TLS for clients and peers with client
# certificates required, revisions compacted automatically (every hour, keeping an hour), and a
# backend quota (8 GiB) so a runaway writer fills a quota, not a disk. Run it under systemd (or
# any supervisor) on each of three machines.
#   deploy/etcd-member.sh NAME ADDRESS CLIENT_PORT PEER_PORT DATA_DIR CERTS INITIAL_CLUSTER
# e.g. deploy/etcd-member.sh etcd1 10.0.0.11 2379 2380 /var/lib/etcd /etc/rota/certs \
#        etcd1=https://10.0.0.11:2380,etcd2=https://10.0.0.12:2380,etcd3=https://10.0.0.13:2380
set -eu
name=$1 addr=$2 client=$3 peer=$4 data=$5 certs=$6 cluster=$7
exec etcd --name "$name" --data-dir "$data" \
  --listen-client-urls "https://$addr:$client" --advertise-client-urls "https://$addr:$client" \
  --listen-peer-urls "https://$addr:$peer" --initial-advertise-peer-urls "https://$addr:$peer" \
  --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token rota-fleet \
  --cert-file "$certs/$name.crt" --key-file "$certs/$name.key" --trusted-ca-file "$certs/ca.crt" --client-cert-auth \
  --peer-cert-file "$certs/$name.crt" --peer-key-file "$certs/$name.key" --peer-trusted-ca-file "$certs/ca.crt" --peer-client-cert-auth \
  --auto-compaction-mode periodic --auto-compaction-retention 1h \
  --quota-backend-bytes 8589934592 \
  --logger zap --log-level warn
