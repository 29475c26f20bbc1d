#!/bin/bash
# alluse deploy against a Kubernetes API server: diff, apply (lease, guard rails, order,
# server-side apply, waits, prune, revisions), history, rollback on a failed rollout
# and --rollback N, over a token and a client certificate, and in-cluster.
# The server is tests/integration/k8s_fake.py, a loopback fake written from the
# Kubernetes API documentation (no real API server can run here); see docs/k8s-fake.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/k8s_fake.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
cleanup() { [ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null; k8s_stop; rm -rf "$tmp"; }
trap cleanup EXIT
k8s_start_or_skip
cd "$root"

# A copy of the deploy scripts with a dev environment of two accounts, so that one can
# leave (prune) later.
mkdir -p "$tmp/w/strategies" && cp -r deploy-scripts "$tmp/w/" && cp -r strategies/alluse "$tmp/w/strategies/"
cat > "$tmp/w/deploy-scripts/environments/dev.lua" <<'LUA'
return {
  namespace = "alluse-dev",
  image = "localhost/alluse:1",
  accounts = { { name = "gen", cash = 100000, profile = "iai" }, { name = "rev", cash = 50000, profile = "iai" } },
}
LUA
FLEET=$tmp/w/deploy-scripts/fleet.lua
KC=(--kubeconfig "$K8STEST_KUBECONFIG")
dep() { "$ALLUSE" deploy "$FLEET" --env dev "${KC[@]}" --poll-ms 100 --timeout 20 "$@"; }
# every running pod answers the guard rails' /metrics with this, unless a test says otherwise
healthy='alluse_strategy_halted{strategy="/strategy"} 0
alluse_orders_in_flight{account="gen"} 0'
metrics_answer() { # TEXT: the pod proxy's answer for every pod
  k8s_ctl POST pod-proxy "$(python3 -c 'import json,sys; print(json.dumps({"namespace": "*", "pod": "*", "code": 200, "body": sys.argv[1]}))' "$1")" > /dev/null
}
k8s_ctl POST auto '{"delayMs": 150}' > /dev/null

# ---- diff on an empty cluster: everything is a create ----
out=$(dep --diff 2>&1); rc=$?
is "$rc" 2 "--diff against an empty cluster exits 2 (changes)"
n=$("$ALLUSE" deploy "$FLEET" --env dev --render "$tmp/r" | awk '{print $2}')
is "$(printf '%s\n' "$out" | grep -c '^+ create ')" "$n" "... all $n objects are creates"
like "$(printf '%s\n' "$out" | tail -1)" "^$n to create, 0 to update, 0 to delete, 0 unchanged$" "... and says so last"

# ---- apply ----
k8s_ctl DELETE log > /dev/null
out=$(dep --apply --commit abc123 2>&1); rc=$?
is "$rc" 0 "--apply exits 0"
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -5 | sed 's/^/# /'
like "$out" "ready Job alluse-dev/alluse-migrate-1" "the migration Job is waited for"
like "$out" "ready StatefulSet alluse-dev/alluse-gen" "each StatefulSet's rollout is waited for"
like "$(printf '%s\n' "$out" | tail -1)" "^deployed fleet to dev: revision 1$" "revision 1"
k8s_ctl GET log > "$tmp/log.json"
python3 - "$tmp/log.json" > "$tmp/order.txt" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["requests"]:
    if r["method"] == "PATCH":
        print(r["path"].split("/")[-2], r.get("fieldManager"), r.get("contentType"), r.get("dryRun"))
PY
is "$(head -1 "$tmp/order.txt")" "namespaces alluse application/apply-patch+yaml " \
  "server-side apply: PATCH application/apply-patch+yaml, fieldManager alluse; the Namespace first"
order=$(awk '{print $1}' "$tmp/order.txt" | uniq | tr '\n' ' ')
like "$order" "^namespaces roles rolebindings serviceaccounts configmaps jobs services cronjobs statefulsets networkpolicies poddisruptionbudgets prometheusrules servicemonitors $" \
  "in order: Namespace, RBAC, ConfigMap, the migration Job, workloads, the rest ($order)"
is "$(grep -vc ' alluse application/apply-patch+yaml' "$tmp/order.txt")" 0 "every apply is by field manager alluse"

# ---- nothing changed: diff says so ----
metrics_answer "$healthy"
out=$(dep --diff 2>&1); rc=$?
is "$rc" 0 "--diff right after the apply exits 0"
like "$(printf '%s\n' "$out" | tail -1)" "^0 to create, 0 to update, 0 to delete, $n unchanged$" "... nothing to do"

# ---- a new image: an update in the diff; the guard rails ----
out=$(dep --diff --image localhost/alluse:2 2>&1); rc=$?
is "$rc" 2 "a new image: --diff exits 2"
like "$out" "~ update StatefulSet alluse-dev/alluse-gen" "... the StatefulSets are updates"
like "$out" "-        image: localhost/alluse:1" "... the old image"
like "$out" "\\+        image: localhost/alluse:2" "... and the new one, in a unified diff"
metrics_answer 'alluse_strategy_halted{strategy="/strategy"} 1
alluse_orders_in_flight{account="gen"} 0'
out=$(dep --apply --image localhost/alluse:2 2>&1); rc=$?
is "$rc" 1 "a pod reporting its strategy halted: --apply refused"
like "$out" "refusing to deploy \\(--force overrides\\)" "... saying --force overrides"
like "$out" "pod alluse-dev/alluse-gen-0: its strategy is halted" "... naming the pod"
metrics_answer 'alluse_strategy_halted{strategy="/strategy"} 0
alluse_orders_in_flight{account="gen"} 2'
out=$(dep --apply --image localhost/alluse:2 2>&1)
like "$out" "2 orders in flight" "orders in flight: refused too"
out=$(dep --apply --image localhost/alluse:2 --force 2>&1); rc=$?
is "$rc" 0 "--force deploys anyway"
like "$(printf '%s\n' "$out" | tail -1)" "revision 2$" "... revision 2"
metrics_answer "$healthy"

# ---- the lease: one deploy at a time ----
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
k8s_req POST /apis/coordination.k8s.io/v1/namespaces/alluse-dev/leases \
  "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"alluse-deploy-fleet-dev\"},\"spec\":{\"holderIdentity\":\"ci-42\",\"leaseDurationSeconds\":120,\"renewTime\":\"$now\"}}"
is "$K8S_CODE" 201 "(another deploy takes the lease)"
out=$(dep --apply --image localhost/alluse:2 2>&1); rc=$?
is "$rc" 1 "--apply while another deploy holds the lease: refused"
like "$out" "another deploy holds the lease alluse-dev/alluse-deploy-fleet-dev \\(ci-42" "... naming the holder"
k8s_req PUT /apis/coordination.k8s.io/v1/namespaces/alluse-dev/leases/alluse-deploy-fleet-dev \
  "$(printf '%s' "$K8S_BODY" | python3 -c 'import json,sys; o=json.load(sys.stdin); o["spec"]["renewTime"]="2020-01-01T00:00:00.000000Z"; print(json.dumps(o))')"
out=$(dep --apply --image localhost/alluse:2 2>&1); rc=$?
is "$rc" 0 "an expired lease is taken over"
k8s_req GET /apis/coordination.k8s.io/v1/namespaces/alluse-dev/leases/alluse-deploy-fleet-dev
is "$K8S_CODE" 404 "... and released when the deploy ends"

# ---- conflicts with another field manager ----
k8s_req PATCH "/apis/apps/v1/namespaces/alluse-dev/statefulsets/alluse-gen?fieldManager=kubectl-edit" \
  '{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"alluse-gen","namespace":"alluse-dev"},"spec":{"replicas":3}}' \
  application/apply-patch+yaml
is "$K8S_CODE" 409 "(kubectl-edit cannot take replicas without force)"
k8s_req PATCH "/apis/apps/v1/namespaces/alluse-dev/statefulsets/alluse-gen?fieldManager=kubectl-edit&force=true" \
  '{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"alluse-gen","namespace":"alluse-dev"},"spec":{"replicas":3}}' \
  application/apply-patch+yaml
is "$K8S_CODE" 200 "(another manager forces replicas: 3)"
out=$(dep --apply --image localhost/alluse:2 2>&1); rc=$?
is "$rc" 1 "our apply over a field another manager owns: a conflict"
like "$out" "409 Apply failed with 1 conflict: conflict with \"kubectl-edit\"" "... reported, naming the other manager"
like "$out" "--force-conflicts takes them" "... and the way out"
out=$(dep --apply --image localhost/alluse:2 --force-conflicts 2>&1); rc=$?
is "$rc" 0 "--force-conflicts takes the field back"
k8s_req GET /apis/apps/v1/namespaces/alluse-dev/statefulsets/alluse-gen
is "$(k8s_jq 'o["spec"]["replicas"]')" 1 "... replicas is ours again (1)"

# ---- prune: an account leaves ----
k8s_req POST /api/v1/namespaces/alluse-dev/persistentvolumeclaims \
  '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"keep-me","labels":{"app.kubernetes.io/managed-by":"alluse","alluse.io/deploy":"fleet","alluse.io/env":"dev"}},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}'
k8s_req POST /api/v1/namespaces/alluse-dev/secrets \
  '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"old-secret","labels":{"app.kubernetes.io/managed-by":"alluse","alluse.io/deploy":"fleet","alluse.io/env":"dev"}},"data":{"password":"aHVudGVyMg=="}}'
sed -i 's/, { name = "rev", cash = 50000, profile = "iai" }//' "$tmp/w/deploy-scripts/environments/dev.lua"
out=$(dep --diff --image localhost/alluse:2 2>&1); rc=$?
is "$rc" 2 "an account removed: --diff exits 2"
like "$out" "- delete StatefulSet alluse-dev/alluse-rev" "... its StatefulSet is a delete"
like "$out" "- delete Secret alluse-dev/old-secret" "... so is a Secret that left"
like "$out" "password: <redacted sha256:" "... whose value is redacted"
! printf '%s' "$out" | grep -q 'aHVudGVyMg=='; ok $? "... and never shown"
! printf '%s' "$out" | grep -q 'delete PersistentVolumeClaim'; ok $? "a PersistentVolumeClaim is never a delete"
out=$(dep --apply --prune --image localhost/alluse:2 2>&1); rc=$?
is "$rc" 0 "--apply --prune"
like "$out" "deleted StatefulSet alluse-dev/alluse-rev" "... deletes what left the render"
k8s_req GET /apis/apps/v1/namespaces/alluse-dev/statefulsets/alluse-rev; is "$K8S_CODE" 404 "... it is gone"
k8s_req GET /api/v1/namespaces/alluse-dev/persistentvolumeclaims/keep-me; is "$K8S_CODE" 200 "... and the PVC is kept"

# ---- a rollout that fails: fast, with the pod's events, and rolled back ----
k8s_ctl POST auto '{"delayMs": 150, "fail": {"image=localhost/alluse:3": "crashloop"}}' > /dev/null
start=$(date +%s)
out=$(dep --apply --image localhost/alluse:3 2>&1); rc=$?
is "$rc" 1 "a pod in CrashLoopBackOff: --apply fails"
ok "$([ $(( $(date +%s) - start )) -lt 15 ]; echo $?)" "... at once, not after the timeout"
like "$out" "container alluse is in CrashLoopBackOff" "... naming the state"
like "$out" "last events:" "... with the pod's last events"
like "$out" "rolled back to revision [0-9]+" "... and rolls back to the last good revision"
k8s_ctl POST auto '{"delayMs": 150}' > /dev/null
k8s_req GET /apis/apps/v1/namespaces/alluse-dev/statefulsets/alluse-gen
like "$(k8s_jq 'o["spec"]["template"]["spec"]["containers"][0]["image"]')" "localhost/alluse:2" "the StatefulSet runs the previous image again"
# an image that cannot be pulled fails the same way
k8s_ctl POST auto '{"delayMs": 150, "fail": {"image=localhost/alluse:404": "imagepull"}}' > /dev/null
out=$(dep --apply --image localhost/alluse:404 2>&1); rc=$?
is "$rc" 1 "a pod in ImagePullBackOff: --apply fails"
like "$out" "container alluse is in ImagePullBackOff" "... naming the state"
like "$out" "rolled back to revision [0-9]+" "... and rolls back"
k8s_ctl POST auto '{"delayMs": 150}' > /dev/null

# ---- history and --rollback N ----
out=$(dep --history 2>&1); rc=$?
is "$rc" 0 "--history"
like "$out" "^REV +TIME +STATUS +COMMIT +IMAGE" "... a table"
like "$out" "
1 +[0-9T:.-]+Z +applied +abc123 +localhost/alluse:1" "... revision 1: applied, its commit and image"
like "$out" "failed .*localhost/alluse:3" "... the failed rollout"
like "$out" "applied .*localhost/alluse:2 \\(rollback to [0-9]+\\)" "... and the rollback"
out=$(dep --rollback 1 2>&1); rc=$?
is "$rc" 0 "--rollback 1"
k8s_req GET /apis/apps/v1/namespaces/alluse-dev/statefulsets/alluse-gen
is "$(k8s_jq 'o["spec"]["template"]["spec"]["containers"][0]["image"]')" "localhost/alluse:1" "... revision 1's image is back"
like "$(dep --history | tail -1)" "applied .*localhost/alluse:1 \\(rollback to 1\\)" "... recorded as a new revision"
out=$(dep --rollback 99 2>&1); is $? 1 "--rollback of a revision that does not exist"
like "$out" "no revision 99" "... says so"

# ---- credentials: KUBECONFIG, ~/.kube/config, files instead of data, a client certificate; in-cluster ----
diff_ok() { [ "$1" = 0 ] || [ "$1" = 2 ]; echo $?; }
mkdir -p "$tmp/empty-home"
out=$(HOME="$tmp/empty-home" KUBECONFIG="$K8STEST_KUBECONFIG" "$ALLUSE" deploy "$FLEET" --env dev --diff --image localhost/alluse:1 2>&1)
ok "$(diff_ok $?)" "KUBECONFIG names the kubeconfig when --kubeconfig is not given"
mkdir -p "$tmp/kh/.kube" && cp "$K8STEST_KUBECONFIG" "$tmp/kh/.kube/config"
out=$(env -u KUBECONFIG HOME="$tmp/kh" "$ALLUSE" deploy "$FLEET" --env dev --diff --image localhost/alluse:1 2>&1)
ok "$(diff_ok $?)" "without either, ~/.kube/config"
# the CA, a token and a client certificate as files, relative to the kubeconfig's folder
mkdir -p "$tmp/kf/certs"
cp "$K8STEST_CA" "$tmp/kf/certs/ca.crt"; cp "$K8STEST_CLIENT_CERT" "$tmp/kf/certs/client.crt"
cp "$K8STEST_CLIENT_KEY" "$tmp/kf/certs/client.key"; printf '%s\n' "$K8STEST_TOKEN" > "$tmp/kf/certs/token"
cat > "$tmp/kf/config" <<KC
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: $K8STEST_URL
    certificate-authority: certs/ca.crt
users:
- name: by-token-file
  user:
    tokenFile: certs/token
- name: by-cert-files
  user:
    client-certificate: certs/client.crt
    client-key: certs/client.key
contexts:
- name: tf
  context: {cluster: fake, user: by-token-file}
- name: cf
  context: {cluster: fake, user: by-cert-files}
current-context: tf
KC
k8s_ctl DELETE log > /dev/null
out=$("$ALLUSE" deploy "$FLEET" --env dev --kubeconfig "$tmp/kf/config" --diff --image localhost/alluse:1 2>&1)
ok "$(diff_ok $?)" "certificate-authority and tokenFile as files (relative to the kubeconfig)"
like "$(k8s_ctl GET log | tail -c 600)" '"auth": "token"' "... the server saw the token"
out=$("$ALLUSE" deploy "$FLEET" --env dev --kubeconfig "$tmp/kf/config" --context cf --diff --image localhost/alluse:1 2>&1)
ok "$(diff_ok $?)" "client-certificate and client-key as files"
like "$(k8s_ctl GET log | tail -c 600)" '"auth": "cert:alluse-test"' "... the server saw the certificate"
out=$("$ALLUSE" deploy "$FLEET" --env dev "${KC[@]}" --context fake-cert --diff --image localhost/alluse:1 2>&1); rc=$?
ok "$([ $rc = 0 ] || [ $rc = 2 ]; echo $?)" "--context with a client certificate works (exit $rc)"
like "$(k8s_ctl GET log | tail -c 2000)" '"auth": "cert:alluse-test"' "... the server saw the certificate"
mkdir -p "$tmp/sa" "$tmp/home"
printf '%s' "$K8STEST_TOKEN" > "$tmp/sa/token"; cp "$K8STEST_CA" "$tmp/sa/ca.crt"; printf 'alluse-dev' > "$tmp/sa/namespace"
out=$(env -u KUBECONFIG HOME="$tmp/home" KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$K8STEST_PORT" \
  ALLUSE_K8S_SA_DIR="$tmp/sa" "$ALLUSE" deploy "$FLEET" --env dev --diff --image localhost/alluse:1 2>&1); rc=$?
ok "$([ $rc = 0 ] || [ $rc = 2 ]; echo $?)" "in a pod: the service account's token and CA (exit $rc)"

# ---- refusals ----
sed 's/certificate-authority-data: .*/insecure-skip-tls-verify: true/' "$K8STEST_KUBECONFIG" > "$tmp/insecure.kubeconfig"
out=$("$ALLUSE" deploy "$FLEET" --env dev --kubeconfig "$tmp/insecure.kubeconfig" --diff 2>&1); rc=$?
is "$rc" 1 "a kubeconfig that skips TLS verification is refused"
like "$out" "insecure-skip-tls-verify is set; alluse always verifies TLS" "... saying why"
other=$(base64 -w0 < "$K8STEST_OTHER_CA")
sed "s/certificate-authority-data: .*/certificate-authority-data: $other/" "$K8STEST_KUBECONFIG" > "$tmp/wrongca.kubeconfig"
out=$("$ALLUSE" deploy "$FLEET" --env dev --kubeconfig "$tmp/wrongca.kubeconfig" --diff 2>&1); rc=$?
is "$rc" 1 "a server certificate the CA did not sign: refused"
like "$out" "SSL|TLS|certificate" "... a TLS error"
out=$("$ALLUSE" deploy "$FLEET" --env dev --kubeconfig "$K8STEST_KUBECONFIG" --context nope --diff 2>&1)
like "$out" "context 'nope' is not in the kubeconfig" "an unknown context"
done_testing
