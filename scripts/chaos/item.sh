#!/bin/sh
# One item of a chaos run (rota node --exec 'exec /bin/sh item.sh'): announce the run (item id,
# fencing token, pid, worker) in $ROTA_CHAOS_LOG, start a grandchild with the same environment,
# and run until stopped. How it takes SIGTERM depends on the item id's suffix:
#   -plain     dies at once (the default action);
#   -slow      traps it and takes 1.5 s to exit (within the 5 s grace of a normal stop);
#   -stubborn  ignores it, and so does its grandchild: only SIGKILL ends them.
printf '%s %s %s %s\n' "$ROTA_WORK_ID" "$ROTA_FENCING_TOKEN" "$$" "$ROTA_WORKER_ID" >> "$ROTA_CHAOS_LOG"
case "$ROTA_WORK_ID" in
  *-slow) trap 'sleep 1.5; exit 0' TERM ;;
  *-stubborn) trap '' TERM ;;
esac
sleep 2147483647 &
wait $!
