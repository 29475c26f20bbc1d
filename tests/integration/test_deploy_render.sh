#!/bin/bash
# alluse deploy --render: the fleet's manifests for every environment are valid
# Kubernetes objects by the API's OpenAPI schemas (npm kubernetes-models and
# @kubernetes-models/prometheus-operator, pinned in k8s-validate/), the alert rules
# pass promtool check rules, kubectl kustomize builds the folder (when kubectl is
# installed), a render is byte-identical when repeated, a strategy change renames its
# ConfigMap (the pods roll), and errors name the file and line.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
FLEET=deploy-scripts/fleet.lua

# The validator's packages, installed once per lock file into the build folder.
vdir=${ALLUSE_BUILD:-$root/build}/k8s-validate
have_node=0
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  if ! cmp -s "$here/k8s-validate/package-lock.json" "$vdir/package-lock.json" || [ ! -d "$vdir/node_modules" ]; then
    rm -rf "$vdir" && mkdir -p "$vdir"
    cp "$here/k8s-validate/package.json" "$here/k8s-validate/package-lock.json" "$vdir/"
    (cd "$vdir" && npm ci --no-audit --no-fund --loglevel=error > "$tmp/npm.log" 2>&1) || cat "$tmp/npm.log" | sed 's/^/# /'
  fi
  cp "$here/k8s-validate/validate.mjs" "$vdir/"
  [ -d "$vdir/node_modules/kubernetes-models" ] && have_node=1
fi
ok $((1 - have_node)) "the schema validator is installed (node and npm from scripts/deps.sh; packages from the npm registry)"

# The PrometheusRule's groups as a plain rules file, for promtool.
cat > "$tmp/rules.lua" <<'LUA'
local yaml = require("alluse.deploy.yaml")
local f = assert(io.open(arg[1])) local text = f:read("*a") f:close()
local obj = assert(yaml.decode(text, arg[1]))
io.write(require("alluse.json").encode({ groups = obj.spec.groups }, { sorted = true, indent = 2 }), "\n")
return 0
LUA

for env in dev staging prod; do
  out="$tmp/$env"
  msg=$("$ALLUSE" deploy $FLEET --env $env --render "$out" 2>&1); rc=$?
  is "$rc" 0 "$env: render exits 0"
  n=$(ls "$out" | grep -c '^[0-9][0-9][0-9]-.*\.yaml$')
  like "$msg" "^rendered $n objects for $env into " "$env: $n objects, one file each"
  grep -q "^- 001-namespace-" "$out/kustomization.yaml"; ok $? "$env: kustomization.yaml lists them in apply order"
  "$ALLUSE" deploy $FLEET --env $env --render "$tmp/$env-again" -q
  diff -r "$out" "$tmp/$env-again" > /dev/null; ok $? "$env: a second render is byte-identical"
  if [ $have_node = 1 ]; then
    node "$vdir/validate.mjs" "$out"/*.yaml > "$tmp/$env.valid" 2>&1; rc=$?
    is "$rc" 0 "$env: every object is valid by the Kubernetes OpenAPI schemas"
    [ "$rc" = 0 ] || grep -v '^ok' "$tmp/$env.valid" | head -5 | sed 's/^/# /'
    is "$(grep -c '^ok ' "$tmp/$env.valid")" "$((n + 1))" "$env: ... all $n of them and the kustomization"
  fi
  sts=$(grep -l '^kind: StatefulSet' "$out"/*.yaml | head -1)
  for want in 'runAsNonRoot: true' 'runAsUser: 65532' 'readOnlyRootFilesystem: true' 'allowPrivilegeEscalation: false' \
      'type: RuntimeDefault' 'path: /healthz' 'path: /readyz' 'terminationGracePeriodSeconds: 60' \
      'topologyKey: topology.kubernetes.io/zone' 'secretKeyRef:'; do
    grep -q -- "$want" "$sts"; ok $? "$env: the StatefulSet has $want"
  done
  grep -A1 -- '- ALL' "$sts" > /dev/null && grep -q 'drop:' "$sts"; ok $? "$env: ... and drops all capabilities"
  ! grep -lq '^kind: Secret' "$out"/*.yaml; ok $? "$env: no Secret is rendered, only references"
  ! grep -q 'postgres://' "$out"/*.yaml; ok $? "$env: no database URL in the manifests"
  if command -v promtool >/dev/null 2>&1; then
    "$ALLUSE" exec "$tmp/rules.lua" "$(grep -l '^kind: PrometheusRule' "$out"/*.yaml)" > "$tmp/$env-rules.json"
    promtool check rules "$tmp/$env-rules.json" > "$tmp/promtool.out" 2>&1; ok $? "$env: promtool check rules accepts the alerts"
    like "$(cat "$tmp/promtool.out")" "SUCCESS: 6 rules found" "$env: ... all six (halted, ATR level 3, feed stale, rejects, restarts, drawdown)"
  fi
  if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize "$out" > /dev/null 2>&1; ok $? "$env: kubectl kustomize builds the folder"
  fi
done
command -v kubectl >/dev/null 2>&1 || echo "# SKIP kubectl kustomize: kubectl is not installed"
is "$(grep -c '^kind: StatefulSet' "$tmp"/prod/*.yaml | awk -F: '{s += $2} END {print s}')" 3 "prod: one StatefulSet per main account (3)"

# JSON, and the objects are the same
"$ALLUSE" deploy $FLEET --env dev --render "$tmp/json" --format json -q; is $? 0 "--format json"
is "$(ls "$tmp/json" | grep -c '\.json$')" "$(ls "$tmp/dev" | grep -c '^[0-9].*\.yaml$')" "... one JSON file per object"

# a strategy change renames the ConfigMap, and the StatefulSet follows it
mkdir -p "$tmp/fork"
cp -r deploy-scripts "$tmp/fork/" && mkdir -p "$tmp/fork/strategies" && cp -r strategies/alluse "$tmp/fork/strategies/"
"$ALLUSE" deploy "$tmp/fork/deploy-scripts/fleet.lua" --env dev --render "$tmp/f1" -q
echo "-- a comment" >> "$tmp/fork/strategies/alluse/init.lua"
"$ALLUSE" deploy "$tmp/fork/deploy-scripts/fleet.lua" --env dev --render "$tmp/f2" -q
cm1=$(ls "$tmp/f1" | grep configmap); cm2=$(ls "$tmp/f2" | grep configmap)
ok "$([ -n "$cm1" ] && [ "$cm1" != "$cm2" ]; echo $?)" "a changed strategy file gives the ConfigMap a new name ($cm1 -> $cm2)"
cm2=${cm2#006-configmap-alluse-dev-}
grep -q "name: ${cm2%.yaml}\$" "$tmp/f2/"*statefulset*; ok $? "... which the StatefulSet mounts (the pods roll)"

# a re-render removes the files of objects that left; other files stay
echo keep > "$tmp/dev/NOTES.txt"
sed -i 's/{ name = "gen", cash = 100000, profile = "iai" }/{ name = "gen", cash = 100000, profile = "iai" }, { name = "two", cash = 1, profile = "iai" }/' \
  "$tmp/fork/deploy-scripts/environments/dev.lua"
"$ALLUSE" deploy "$tmp/fork/deploy-scripts/fleet.lua" --env dev --render "$tmp/f2" -q
ls "$tmp/f2" | grep -q 'statefulset-alluse-dev-alluse-two'; ok $? "an account added: its StatefulSet appears"
git -C "$root" show HEAD:deploy-scripts/environments/dev.lua > "$tmp/fork/deploy-scripts/environments/dev.lua" 2>/dev/null \
  || cp deploy-scripts/environments/dev.lua "$tmp/fork/deploy-scripts/environments/dev.lua"
"$ALLUSE" deploy "$tmp/fork/deploy-scripts/fleet.lua" --env dev --render "$tmp/f2" -q
! ls "$tmp/f2" | grep -q 'alluse-two'; ok $? "... and its files go when it leaves"
"$ALLUSE" deploy $FLEET --env dev --render "$tmp/dev" -q
is "$(cat "$tmp/dev/NOTES.txt")" keep "files the render did not write are kept"

# errors
out=$("$ALLUSE" deploy $FLEET --env nope --render "$tmp/x" 2>&1); rc=$?
is "$rc:$out" "1:deploy: nope: no such environment (looked for deploy-scripts/environments/nope.lua)" "an unknown environment"
cat > "$tmp/fork/deploy-scripts/bad.lua" <<'LUA'
local k8s = require("alluse.deploy.k8s")
return function(env)
  return {
    k8s.config_map { name = "ok", namespace = env.namespace, data = { a = "b" } },
    k8s.service { name = "Bad", namespace = env.namespace, ports = { http = 80 }, selector = { a = "b" } },
  }
end
LUA
out=$("$ALLUSE" deploy "$tmp/fork/deploy-scripts/bad.lua" --env dev --render "$tmp/x" 2>&1); rc=$?
is "$rc" 1 "a bad object: exit 1"
like "$out" "^deploy: .*/bad.lua:5: k8s.service: name 'Bad' is not a valid Kubernetes name" "... naming the script's file and line"
printf 'return function(env)\n  return { nil + 1 }\nend\n' > "$tmp/fork/deploy-scripts/bad2.lua"
out=$("$ALLUSE" deploy "$tmp/fork/deploy-scripts/bad2.lua" --env dev --render "$tmp/x" 2>&1)
like "$out" "^deploy: .*/bad2.lua:2: attempt to perform arithmetic" "a Lua error in a script names its line"
"$ALLUSE" deploy $FLEET --render "$tmp/x" > /dev/null 2>&1; is $? 2 "no --env: usage error"
"$ALLUSE" deploy $FLEET --env dev > /dev/null 2>&1; is $? 2 "no action: usage error"
done_testing
