# Experiment helpers (source after /tmp/du/lab.env). Loopback only; every command bounded by timeout.
DU=${DU:-/tmp/du}
# issue KIND: writes $DU/KIND.token and $DU/KIND.json (the body, with catalog). KIND: password | appcred
issue() {
  local body
  if [[ $1 == password ]]; then
    body="{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"id\":\"$FIX_USER2_ID\",\"password\":\"$FIX_USER2_PASSWORD\"}}},\"scope\":{\"project\":{\"id\":\"$FIX_PROJ2_ID\"}}}}"
  else
    body="{\"auth\":{\"identity\":{\"methods\":[\"application_credential\"],\"application_credential\":{\"id\":\"$FIX_APPCRED_ID\",\"secret\":\"$FIX_APPCRED_SECRET\"}}}}"
  fi
  timeout 15 curl -sS -D $DU/$1.headers -o $DU/$1.json -H 'Content-Type: application/json' "$AUTH_URL/auth/tokens" -d "$body"
  awk -F': ' 'tolower($1)=="x-subject-token"{gsub("\r","",$2);print $2}' $DU/$1.headers > $DU/$1.token
}
posts() { grep -c '"POST /v3/auth/tokens' "$ACCESS_LOG" || true; }
ksreqs() { wc -l < "$ACCESS_LOG"; }
# oscli ENVFILE ARGS...: runs /usr/bin/openstack with PATH, HOME and ENVFILE's NAME=VALUE lines only;
# prints exit status, Keystone POSTs / requests and recorder requests caused by this command.
oscli() {
  local envfile=$1; shift
  local p0 k0 r0 out rc
  p0=$(posts); k0=$(ksreqs); r0=$(wc -l < $DU/recorder.log 2>/dev/null || echo 0)
  out=$(env -i PATH=/usr/bin:/bin HOME=$DU/home $(cat "$envfile") timeout 60 ${OPENSTACK_BIN:-/usr/bin/openstack} "$@" 2>&1); rc=$?
  sleep 0.5
  echo "== openstack $* -> rc=$rc keystone_posts=$(( $(posts) - p0 )) keystone_reqs=$(( $(ksreqs) - k0 ))"
  echo "$out" | tail -3 | cut -c1-200
  tail -n +$((r0 + 1)) $DU/recorder.log 2>/dev/null | sed 's/^/   rec: /'
}
