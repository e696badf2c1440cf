#!/bin/sh
# Certificates for a rota fleet: a CA, one certificate per etcd member (server and peer use, for the
# member's name and address) and one client certificate for the rota nodes, whose common name is
# the etcd user they act as ("root" here; with --client-cert-auth, etcd takes the user from it).
#   deploy/make-certs.sh OUT_DIR NAME=ADDRESS [NAME=ADDRESS…]
# e.g. deploy/make-certs.sh /etc/rota/certs etcd1=10.0.0.11 etcd2=10.0.0.12 etcd3=10.0.0.13
set -eu
out=$1; shift
mkdir -p "$out"; cd "$out"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 825 -subj /CN=rota-etcd-ca 2>/dev/null
for member in "$@"; do
  name=${member%%=*}; addr=${member#*=}
  case $addr in *[!0-9.]*) san="DNS:$addr";; *) san="IP:$addr";; esac
  printf 'subjectAltName=%s,DNS:%s,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" "$name" > "$name.cnf"
  openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 825 -extfile "$name.cnf" 2>/dev/null
done
printf 'extendedKeyUsage=clientAuth\n' > client.cnf
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=root 2>/dev/null
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 825 -extfile client.cnf 2>/dev/null
chmod 600 ./*.key
echo "certificates in $out: ca.crt, $(for m in "$@"; do printf '%s.crt ' "${m%%=*}"; done)client.crt"
