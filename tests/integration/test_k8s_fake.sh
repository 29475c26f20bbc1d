#!/bin/bash
# The fake Kubernetes API server that the tests of `alluse deploy` talk to
# (tests/integration/k8s_fake.py, a loopback fake written from the Kubernetes API
# documentation — no real API server can run here), tested with curl over TLS with the
# certificates and the bearer token k8s_fake.sh makes: authentication (token, client
# certificate, none, an unrelated CA), discovery, create/get/list with label and field
# selectors, server-side apply (create, no-op, removing a field, a conflict between two
# managers and force, Update ownership from a merge patch), dryRun=All, DELETE,
# resourceVersion conflicts, a Lease race, the status subresource, driving workloads to
# ready / CrashLoopBackOff / ImagePullBackOff and Jobs to Complete / Failed, auto mode,
# the CRDs missing, injected failures, the pod proxy, the request log, and plain HTTP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/k8s_fake.sh"
stub_pid="" tmp=""
cleanup() {
  [ -n "$stub_pid" ] && kill "$stub_pid" 2>/dev/null && wait "$stub_pid" 2>/dev/null
  k8s_stop
  [ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
k8s_start_or_skip
tmp=$(mktemp -d)
NS=/api/v1/namespaces
APPS=/apis/apps/v1/namespaces/alluse
APPLY=application/apply-patch+yaml MERGE=application/merge-patch+json

# ---- the certificates and the kubeconfig ----
is "$(openssl verify -CAfile "$K8STEST_CA" "$K8STEST_DIR/server.crt" 2>&1)" "$K8STEST_DIR/server.crt: OK" \
  "the CA verifies the server certificate"
like "$(openssl x509 -in "$K8STEST_DIR/server.crt" -noout -text | tr -s ' \n' ' ')" "IP Address:127.0.0.1, DNS:localhost" \
  "the server certificate is for IP:127.0.0.1 and DNS:localhost"
kc=$(cat "$K8STEST_KUBECONFIG")
like "$kc" "server: https://127\.0\.0\.1:$K8STEST_PORT" "kubeconfig: the server's URL"
is "$(sed -n 's/^ *certificate-authority-data: //p' "$K8STEST_KUBECONFIG" | base64 -d | cmp - "$K8STEST_CA" && echo same)" same \
  "kubeconfig: certificate-authority-data is the CA"
like "$kc" "token: $K8STEST_TOKEN" "kubeconfig: a bearer token user"
like "$(printf '%s' "$kc" | tr '\n' ' ')" "client-certificate-data: [A-Za-z0-9+/=]+ +client-key-data: " \
  "kubeconfig: a client certificate user"
like "$(printf '%s' "$kc" | tr '\n' ' ')" "- name: fake-token .*- name: fake-cert .*current-context: fake-token" \
  "kubeconfig: two contexts, fake-token current"

# ---- authentication ----
K8S_AUTH=none k8s_req GET /api/v1/namespaces
is "$K8S_CODE" 401 "no credentials: 401"
is "$(k8s_jq '[o["kind"], o["status"], o["reason"], str(o["code"]), o["message"]]' | tr '\n' ' ')" \
  "Status Failure Unauthorized 401 Unauthorized " "... a Status object: Failure, Unauthorized, 401"
out=$(curl -sS --cacert "$K8STEST_CA" -H "Authorization: Bearer wrong$K8STEST_TOKEN" -o /dev/null -w '%{http_code}' "$K8STEST_URL/api")
is "$out" 401 "a wrong bearer token: 401"
k8s_req GET /api
is "$K8S_CODE" 200 "the bearer token: 200"
K8S_AUTH=cert k8s_req GET /api
is "$K8S_CODE" 200 "the client certificate: 200"
out=$(curl -sS --cacert "$K8STEST_OTHER_CA" -H "Authorization: Bearer $K8STEST_TOKEN" "$K8STEST_URL/api" 2>&1); rc=$?
is "$rc" 60 "curl with an unrelated CA: the server certificate does not verify (curl exit 60)"
out=$(curl -sS --cacert "$K8STEST_CA" --cert "$K8STEST_DIR/server.crt" --key "$K8STEST_DIR/server.key" -o /dev/null -w '%{http_code}' "$K8STEST_URL/api" 2>&1)
is "${out##*$'\n'}" 000 "a certificate the CA signed for servers only: refused at the TLS handshake"

# ---- discovery ----
k8s_req GET /api
is "$(k8s_jq 'o["versions"]')" v1 "/api: versions [v1]"
k8s_req GET /apis
is "$(k8s_jq '" ".join(g["name"] for g in o["groups"])')" \
  "apps batch policy networking.k8s.io rbac.authorization.k8s.io coordination.k8s.io monitoring.coreos.com" \
  "/apis: the groups, monitoring.coreos.com among them"
k8s_req GET /api/v1
is "$(k8s_jq '[r["kind"] + " " + str(r["namespaced"]) for r in o["resources"] if r["name"] in ("namespaces", "configmaps", "namespaces/status")]' | tr '\n' ,)" \
  "Namespace False,Namespace False,ConfigMap True," "/api/v1: kind and namespaced per plural (namespaces cluster-scoped, with /status)"
k8s_req GET /apis/coordination.k8s.io/v1
is "$(k8s_jq '[o["groupVersion"]] + [r["name"] + ":" + r["kind"] for r in o["resources"]]' | tr '\n' ' ')" \
  "coordination.k8s.io/v1 leases:Lease " "/apis/coordination.k8s.io/v1: leases"
k8s_req GET /apis/monitoring.coreos.com/v1
is "$(k8s_jq '[r["name"] for r in o["resources"]]' | tr '\n' ' ')" "servicemonitors prometheusrules " \
  "/apis/monitoring.coreos.com/v1: servicemonitors, prometheusrules"

# ---- create, get, list ----
k8s_req POST $NS '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"alluse"}}'
is "$K8S_CODE" 201 "POST a Namespace: 201"
like "$(k8s_jq '[o["metadata"]["uid"], o["metadata"]["resourceVersion"], o["metadata"]["creationTimestamp"], o["status"]["phase"]]' | tr '\n' ' ')" \
  "^[0-9a-f-]{36} [0-9]+ [0-9T:-]+Z Active $" "... uid, resourceVersion, creationTimestamp set; phase Active"
k8s_req POST $NS '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"alluse"}}'
is "$K8S_CODE:$(k8s_jq 'o["reason"] + ": " + o["message"]')" '409:AlreadyExists: namespaces "alluse" already exists' \
  "POST it again: 409 AlreadyExists"
cm() { k8s_req POST $NS/alluse/configmaps "{\"metadata\":{\"name\":\"$1\",\"labels\":$2},\"data\":{\"k\":\"v\"}}"; echo "$K8S_CODE"; }
is "$(cm a '{"app":"x","tier":"web"}') $(cm b '{"app":"x","tier":"db"}') $(cm c '{"app":"y"}')" "201 201 201" \
  "three ConfigMaps created"
sel() { k8s_req GET "$NS/alluse/configmaps?$1"; if [ "$K8S_CODE" = 200 ]; then k8s_jq '" ".join(i["metadata"]["name"] for i in o["items"])'; else echo "$K8S_CODE"; fi; }
is "$(sel 'labelSelector=app%3Dx')" "a b" "labelSelector app=x"
is "$(sel 'labelSelector=app%3D%3Dx,tier%3Ddb')" "b" "labelSelector app==x,tier=db"
is "$(sel 'labelSelector=app!%3Dx')" "c" "labelSelector app!=x"
is "$(sel 'labelSelector=tier%20in%20(web,db)')" "a b" "labelSelector tier in (web,db)"
is "$(sel 'labelSelector=tier%20notin%20(web)')" "b c" "labelSelector tier notin (web): objects without the label too"
is "$(sel 'labelSelector=tier')" "a b" "labelSelector tier (exists)"
is "$(sel 'labelSelector=!tier')" "c" "labelSelector !tier"
is "$(sel 'fieldSelector=metadata.name%3Dc')" "c" "fieldSelector metadata.name=c"
is "$(sel 'fieldSelector=metadata.name!%3Dc&labelSelector=app')" "a b" "fieldSelector metadata.name!=c with a labelSelector"
is "$(sel 'fieldSelector=data.k%3Dv')" 400 "fieldSelector on a field the kind does not support: 400"
is "$(sel 'labelSelector=tier%20in%20web')" 400 "a malformed labelSelector: 400"
k8s_req GET $NS/alluse/configmaps
is "$(k8s_jq '[o["kind"], o["apiVersion"], str("kind" in o["items"][0]), str(o["metadata"]["resourceVersion"].isdigit())]' | tr '\n' ' ')" \
  "ConfigMapList v1 False True " "a list: ConfigMapList, items without kind (typed list), metadata.resourceVersion"
k8s_req GET $NS/alluse/configmaps/zz
is "$K8S_CODE:$(k8s_jq 'o["reason"] + "|" + o["message"] + "|" + o["details"]["kind"]')" \
  '404:NotFound|configmaps "zz" not found|configmaps' "GET a missing object: 404 NotFound Status"
k8s_req GET /apis/apps/v1/namespaces/alluse/deployments/zz
is "$(k8s_jq 'o["message"] + "|" + o["details"]["group"]')" 'deployments.apps "zz" not found|apps' \
  "... for a group: deployments.apps, details.group"
k8s_req POST $NS/nope/configmaps '{"metadata":{"name":"a"}}'
is "$K8S_CODE:$(k8s_jq 'o["message"]')" '404:namespaces "nope" not found' "create in a missing namespace: 404"
k8s_req POST $NS/alluse/configmaps '{"metadata":{"name":"Bad_Name"}}'
is "$K8S_CODE:$(k8s_jq 'o["reason"] + " " + o["details"]["causes"][0]["field"]')" "422:Invalid metadata.name" \
  "an invalid name: 422 Invalid, the cause names metadata.name"
k8s_req GET /api/v1/configmaps
is "$(k8s_jq 'len([i for i in o["items"] if i["metadata"]["namespace"] == "alluse"])')" 3 "GET /api/v1/configmaps lists every namespace"

# ---- server-side apply ----
deploy() { # deploy NAME REPLICAS IMAGE ENV-JSON [EXTRA-LABEL-JSON]
  printf '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%s","labels":{"app":"%s"%s}},"spec":{"replicas":%s,"selector":{"matchLabels":{"app":"%s"}},"template":{"metadata":{"labels":{"app":"%s"}},"spec":{"containers":[{"name":"app","image":"%s","ports":[{"containerPort":8080}],"env":%s}]}}}}' \
    "$1" "$1" "${5:-}" "$2" "$1" "$1" "$3" "$4"
}
k8s_req PATCH "$APPS/deployments/web" "$(deploy web 2 alluse:1 '[{"name":"A","value":"1"},{"name":"B","value":"2"}]')" $APPLY
is "$K8S_CODE" 422 "apply without fieldManager: 422"
like "$(k8s_jq 'o["message"]')" "fieldManager: Required value: is required for apply patch" "... fieldManager: Required value"
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse" \
  "$(deploy web 2 alluse:1 '[{"name":"A","value":"1"},{"name":"B","value":"2"}]' ',"old":"yes"')" $APPLY
is "$K8S_CODE" 201 "apply creates the Deployment: 201"
is "$(k8s_jq '[str(o["metadata"]["generation"]), o["metadata"]["managedFields"][0]["manager"], o["metadata"]["managedFields"][0]["operation"], o["metadata"]["managedFields"][0]["fieldsType"]]' | tr '\n' ' ')" \
  "1 alluse Apply FieldsV1 " "... generation 1; managedFields: alluse, Apply, FieldsV1"
is "$(k8s_jq 'sorted(o["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"])' | tr '\n' ' ')" \
  '. f:env f:image f:name f:ports ' "... containers are keyed by name (k:{\"name\":\"app\"}, with .)"
is "$(k8s_jq 'list(o["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]["f:ports"])')" \
  'k:{"containerPort":8080,"protocol":"TCP"}' "... container ports by containerPort and protocol (TCP by default)"
rv1=$(k8s_jq 'o["metadata"]["resourceVersion"]')
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse" \
  "$(deploy web 2 alluse:1 '[{"name":"A","value":"1"},{"name":"B","value":"2"}]' ',"old":"yes"')" $APPLY
is "$K8S_CODE $(k8s_jq 'o["metadata"]["resourceVersion"]')" "200 $rv1" "the same apply again: 200, no write (resourceVersion unchanged)"
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse" "$(deploy web 2 alluse:1 '[{"name":"A","value":"1"}]')" $APPLY
is "$K8S_CODE" 200 "apply without env B and without the label old: 200"
is "$(k8s_jq '[e["name"] for e in o["spec"]["template"]["spec"]["containers"][0]["env"]] + sorted(o["metadata"]["labels"])' | tr '\n' ' ')" \
  "A app " "... env B and the label are gone"
is "$(k8s_jq 'str(o["metadata"]["generation"]) + " " + str("k:{\"name\":\"B\"}" in json.dumps(o["metadata"]["managedFields"]))')" \
  "2 False" "... generation 2; B left alluse's managed fields"
# two managers
k8s_req PATCH "$APPS/deployments/web?fieldManager=hpa" '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":5}}' $APPLY
is "$K8S_CODE" 409 "another manager applies spec.replicas=5 (alluse owns it, =2): 409"
is "$(k8s_jq '[o["reason"], o["details"]["causes"][0]["type"], o["details"]["causes"][0]["field"], o["details"]["causes"][0]["message"]]' | tr '\n' '|')" \
  'Conflict|FieldManagerConflict|.spec.replicas|conflict with "alluse" using apps/v1|' \
  "... Conflict, cause FieldManagerConflict on .spec.replicas, with alluse"
is "$(k8s_jq 'o["message"]')" 'Apply failed with 1 conflict: conflict with "alluse" using apps/v1: .spec.replicas' \
  "... the message"
k8s_req PATCH "$APPS/deployments/web?fieldManager=hpa" '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2}}' $APPLY
is "$K8S_CODE" 200 "the same value is no conflict (shared ownership): 200"
k8s_req PATCH "$APPS/deployments/web?fieldManager=hpa&force=true" '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":5}}' $APPLY
is "$K8S_CODE $(k8s_jq 'o["spec"]["replicas"]')" "200 5" "force=true: 200, replicas 5"
is "$(k8s_jq '[m["manager"] + ":" + str("f:replicas" in m["fieldsV1"].get("f:spec", {})) for m in o["metadata"]["managedFields"]]' | tr '\n' ' ')" \
  "alluse:False hpa:True " "... ownership of spec.replicas moved from alluse to hpa"
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse" "$(deploy web 3 alluse:1 '[{"name":"A","value":"1"}]')" $APPLY
is "$K8S_CODE:$(k8s_jq 'o["details"]["causes"][0]["message"]')" '409:conflict with "hpa" using apps/v1' \
  "alluse applying replicas=3 now conflicts with hpa"
k8s_req PATCH "$APPS/deployments/web?fieldManager=kubectl-edit" '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"alluse:hotfix","ports":[{"containerPort":8080}],"env":[{"name":"A","value":"1"}]}]}}}}' $MERGE
is "$K8S_CODE" 200 "a merge patch by kubectl-edit changes the image"
is "$(k8s_jq '[m["manager"] + ":" + m["operation"] for m in o["metadata"]["managedFields"]]' | tr '\n' ' ')" \
  "alluse:Apply hpa:Apply kubectl-edit:Update " "... recorded as operation Update"
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse" '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"alluse:2","ports":[{"containerPort":8080}],"env":[{"name":"A","value":"1"}]}]}}}}' $APPLY
is "$K8S_CODE:$(k8s_jq 'o["details"]["causes"][0]["field"] + " " + o["details"]["causes"][0]["message"]')" \
  '409:.spec.template.spec.containers[name="app"].image conflict with "kubectl-edit" using apps/v1' \
  "alluse applying another image conflicts with kubectl-edit's Update, keyed path"
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse&force=true" '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"alluse:2","ports":[{"containerPort":8080}],"env":[{"name":"A","value":"1"}]}]}}}}' $APPLY
is "$K8S_CODE $(k8s_jq 'o["spec"]["template"]["spec"]["containers"][0]["image"] + " " + str(o["spec"]["replicas"])')" "200 alluse:2 5" \
  "force: alluse's image; replicas, which alluse no longer lists but hpa owns, stay 5"
gen=$(k8s_jq 'o["metadata"]["generation"]')
# YAML bodies
yaml='apiVersion: v1
kind: ConfigMap
metadata:
  name: fromyaml
  labels:
    app.kubernetes.io/managed-by: alluse   # a comment
data:
  strategy.lua: |
    return { name = "x" }
  quoted: "a: b"
  n: "3"'
k8s_req PATCH "$NS/alluse/configmaps/fromyaml?fieldManager=alluse" "$yaml" $APPLY
is "$K8S_CODE $(k8s_jq 'json.dumps(o["data"], sort_keys=True)')" \
  '201 {"n": "3", "quoted": "a: b", "strategy.lua": "return { name = \"x\" }\n"}' "apply with a YAML body"
is "$(cd "$here" && K8S_FAKE_NO_PYYAML=1 "$K8STEST_PYTHON" -B -c '
import json, sys, k8s_fake
assert k8s_fake._yaml is None
doc = sys.stdin.read()
print(json.dumps(k8s_fake.parse_body(doc.encode(), True), sort_keys=True))' <<'EOF'
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {"a": "b"}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: app
        image: 'alluse:1'
        args: ["run", "--db"]
        env:
          - name: A
            value: "1"
          - {"name": "B", "value": "x"}
        readOnly: true
      nodeSelector: {}
      tolerations: []
      empty:
EOF
)" '{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"annotations": {"a": "b"}, "name": "web"}, "spec": {"replicas": 2, "template": {"spec": {"containers": [{"args": ["run", "--db"], "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "x"}], "image": "alluse:1", "name": "app", "readOnly": true}], "empty": null, "nodeSelector": {}, "tolerations": []}}}}' \
  "without PyYAML, the fake's own YAML reader reads a block-style manifest"
k8s_req PATCH "$NS/alluse/configmaps/x?fieldManager=alluse" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}' application/strategic-merge-patch+json
is "$K8S_CODE:$(k8s_jq 'o["reason"]')" "415:UnsupportedMediaType" "a strategic merge patch: 415"
k8s_req PATCH "$NS/alluse/configmaps/a?fieldManager=alluse" '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"}}' $APPLY
is "$K8S_CODE:$(k8s_jq 'o["reason"]')" "400:BadRequest" "apply of another kind than the URL's: 400"
k8s_req GET "$NS/alluse/configmaps?watch=true"
is "$K8S_CODE" 400 "watch: 400 (not supported)"

# ---- dryRun=All ----
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse&dryRun=All" "$(deploy web 5 alluse:3 '[{"name":"A","value":"1"}]')" $APPLY
is "$K8S_CODE $(k8s_jq 'o["spec"]["template"]["spec"]["containers"][0]["image"]')" "200 alluse:3" \
  "dryRun=All apply: 200 with the would-be object"
k8s_req GET "$APPS/deployments/web"
is "$(k8s_jq 'o["spec"]["template"]["spec"]["containers"][0]["image"] + " " + str(o["metadata"]["generation"])')" "alluse:2 $gen" \
  "... nothing persisted"
k8s_req POST "$NS/alluse/configmaps?dryRun=All" '{"metadata":{"name":"dry"}}'
is "$K8S_CODE" 201 "dryRun=All create: 201"
k8s_req GET "$NS/alluse/configmaps/dry"
is "$K8S_CODE" 404 "... not persisted"
k8s_req DELETE "$NS/alluse/configmaps/a?dryRun=All"
k8s_req GET "$NS/alluse/configmaps/a"
is "$K8S_CODE" 200 "dryRun=All delete: the object is still there"
k8s_req PATCH "$NS/alluse/configmaps/newdry?fieldManager=alluse&dryRun=All" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"newdry"}}' $APPLY
is "$K8S_CODE" 201 "dryRun=All apply of a new object: 201"
k8s_req GET "$NS/alluse/configmaps/newdry"
is "$K8S_CODE" 404 "... not persisted"

# ---- DELETE ----
k8s_req DELETE "$NS/alluse/configmaps/a" '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}'
is "$K8S_CODE:$(k8s_jq 'o["kind"] + " " + o["status"] + " " + o["details"]["name"] + " " + o["details"]["kind"]')" \
  "200:Status Success a configmaps" "DELETE a ConfigMap: 200, a Status of Success"
k8s_req GET "$NS/alluse/configmaps/a"
is "$K8S_CODE" 404 "... it is gone"
k8s_req DELETE "$NS/alluse/configmaps/a"
is "$K8S_CODE" 404 "DELETE it again: 404"
k8s_req DELETE "$NS/alluse/configmaps/b?propagationPolicy=Sideways"
is "$K8S_CODE" 422 "an unknown propagationPolicy: 422"
k8s_req DELETE "$NS/alluse/configmaps?labelSelector=app%3Dy"
is "$K8S_CODE:$(k8s_jq '" ".join(i["metadata"]["name"] for i in o["items"])')" "200:c" "DELETE a collection by labelSelector"
is "$(sel '')" "b fromyaml" "... the others stay"

# ---- PUT, resourceVersion, status subresource ----
k8s_req GET "$NS/alluse/configmaps/b"
body=$K8S_BODY rv=$(k8s_jq 'o["metadata"]["resourceVersion"]')
put=$(printf '%s' "$body" | k8s_json 'dict(o, data={"k": "new"})')
k8s_req PUT "$NS/alluse/configmaps/b?fieldManager=editor" "$put"
is "$K8S_CODE $(k8s_jq 'o["data"]["k"]')" "200 new" "PUT with the current resourceVersion: 200"
like "$(k8s_jq 'o["metadata"]["resourceVersion"]')" '^[0-9]+$' "... a new resourceVersion"
k8s_req PUT "$NS/alluse/configmaps/b" "$put"
is "$K8S_CODE:$(k8s_jq 'o["reason"]')" "409:Conflict" "PUT with the old resourceVersion again: 409 Conflict"
like "$(k8s_jq 'o["message"]')" '^Operation cannot be fulfilled on configmaps "b": the object has been modified' "... the message"
k8s_req PUT "$NS/alluse/configmaps/zz" '{"metadata":{"name":"zz"}}'
is "$K8S_CODE" 404 "PUT a missing object: 404"
k8s_req GET "$APPS/deployments/web"
dep=$(printf '%s' "$K8S_BODY" | k8s_json 'dict(o, status={"readyReplicas": 99})')
k8s_req PUT "$APPS/deployments/web?fieldManager=editor" "$dep"
is "$K8S_CODE $(k8s_jq 'str(o.get("status", {}).get("readyReplicas")) + " " + str(o["metadata"]["generation"])')" "200 None $gen" \
  "PUT the Deployment with a status: the status is ignored, generation unchanged"
k8s_req PATCH "$APPS/deployments/web/status?fieldManager=test" '{"status":{"readyReplicas":1},"spec":{"replicas":9}}' $MERGE
is "$K8S_CODE $(k8s_jq 'str(o["status"]["readyReplicas"]) + " " + str(o["spec"]["replicas"]) + " " + str(o["metadata"]["generation"])')" \
  "200 1 5 $gen" "merge patch on /status: the status changes, the spec does not, nor the generation"
is "$(k8s_jq '[m["manager"] for m in o["metadata"]["managedFields"] if m.get("subresource") == "status"]')" test \
  "... its manager is recorded with subresource status"
k8s_req GET "$NS/alluse/configmaps/b/status"
is "$K8S_CODE" 404 "a ConfigMap has no status subresource: 404"

# ---- a Lease race ----
k8s_req POST /apis/coordination.k8s.io/v1/namespaces/alluse/leases '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"alluse-deploy"},"spec":{"leaseDurationSeconds":30}}'
is "$K8S_CODE" 201 "create a Lease"
lease=$K8S_BODY lrv=$(k8s_jq 'o["metadata"]["resourceVersion"]')
take() { printf '%s' "$lease" | k8s_json "dict(o, spec=dict(o['spec'], holderIdentity='$1', acquireTime='2030-01-01T00:00:00.000000Z', renewTime='2030-01-01T00:00:00.000000Z'))"; }
k8s_req PUT /apis/coordination.k8s.io/v1/namespaces/alluse/leases/alluse-deploy "$(take deployer-a)"
a=$K8S_CODE
k8s_req PUT /apis/coordination.k8s.io/v1/namespaces/alluse/leases/alluse-deploy "$(take deployer-b)"
is "$a $K8S_CODE $(k8s_jq 'o["details"]["group"] + " " + o["details"]["kind"]')" "200 409 coordination.k8s.io leases" \
  "two PUTs with the same resourceVersion: the first takes the Lease, the second gets 409"
k8s_req GET /apis/coordination.k8s.io/v1/namespaces/alluse/leases/alluse-deploy
is "$(k8s_jq 'o["spec"]["holderIdentity"]')" deployer-a "... deployer-a holds it"
k8s_req PATCH /apis/coordination.k8s.io/v1/namespaces/alluse/leases/alluse-deploy "{\"metadata\":{\"resourceVersion\":\"$lrv\"},\"spec\":{\"renewTime\":\"2030-01-01T00:00:10.000000Z\"}}" $MERGE
is "$K8S_CODE" 409 "a merge patch carrying a stale resourceVersion: 409"
k8s_req GET /apis/coordination.k8s.io/v1/namespaces/alluse/leases/alluse-deploy
rv=$(k8s_jq 'o["metadata"]["resourceVersion"]')
k8s_req PATCH /apis/coordination.k8s.io/v1/namespaces/alluse/leases/alluse-deploy "{\"metadata\":{\"resourceVersion\":\"$rv\"},\"spec\":{\"renewTime\":\"2030-01-01T00:00:10.000000Z\"}}" $MERGE
is "$K8S_CODE $(k8s_jq 'o["spec"]["renewTime"] + " " + o["spec"]["holderIdentity"]')" "200 2030-01-01T00:00:10.000000Z deployer-a" \
  "a merge patch with the current resourceVersion renews it"

# ---- driving workloads ----
out=$(k8s_ctl POST rollout '{"namespace":"alluse","kind":"Deployment","name":"web","state":"ready","replicas":2}')
is "$(printf '%s' "$out" | k8s_json '[str(o["status"][k]) for k in ("observedGeneration", "replicas", "readyReplicas", "updatedReplicas", "availableReplicas")] + [c["type"] + "=" + c["status"] for c in o["status"]["conditions"]]' | tr '\n' ' ')" \
  "$gen 2 2 2 2 Available=True Progressing=True " "rollout ready: observedGeneration, replicas, ready/updated/available, conditions"
k8s_req GET "$NS/alluse/pods?labelSelector=app%3Dweb"
is "$(k8s_jq '[p["status"]["phase"] + "/" + [c["status"] for c in p["status"]["conditions"] if c["type"] == "Ready"][0] + "/" + str(p["status"]["containerStatuses"][0]["ready"]) for p in o["items"]]' | tr '\n' ' ')" \
  "Running/True/True Running/True/True " "... two Pods, Running and Ready"
k8s_ctl POST rollout '{"namespace":"alluse","kind":"Deployment","name":"web","state":"crashloop","restarts":4,"replicas":1}' >/dev/null
k8s_req GET "$NS/alluse/pods?labelSelector=app%3Dweb"
pod=$(k8s_jq 'o["items"][0]["metadata"]["name"]')
is "$(k8s_jq 'len(o["items"])')" 1 "rollout crashloop: the Pods are replaced"
is "$(k8s_jq 'json.dumps([(c["state"]["waiting"]["reason"], c["restartCount"], c["lastState"]["terminated"]["exitCode"], c["ready"]) for c in o["items"][0]["status"]["containerStatuses"]])')" \
  '[["CrashLoopBackOff", 4, 1, false]]' "... waiting CrashLoopBackOff, restartCount 4, lastState terminated exit 1, not ready"
k8s_req GET "$NS/alluse/events?fieldSelector=involvedObject.name%3D$pod,reason%3DBackOff"
is "$(k8s_jq '[e["type"] + " " + e["involvedObject"]["kind"] + " " + e["message"].split(" in pod")[0] for e in o["items"]]')" \
  "Warning Pod Back-off restarting failed container app" "... a Warning BackOff Event for it (fieldSelector involvedObject.name, reason)"
k8s_req GET "$APPS/deployments/web"
is "$(k8s_jq 'str(o["status"].get("readyReplicas")) + " " + str(o["status"]["unavailableReplicas"]) + " " + [c["reason"] for c in o["status"]["conditions"] if c["type"] == "Available"][0]')" \
  "None 1 MinimumReplicasUnavailable" "... the Deployment: no ready replicas, unavailable 1, MinimumReplicasUnavailable"
k8s_ctl POST rollout '{"namespace":"alluse","kind":"Deployment","name":"web","state":"imagepull","replicas":1}' >/dev/null
k8s_req GET "$NS/alluse/pods?labelSelector=app%3Dweb"
is "$(k8s_jq 'o["items"][0]["status"]["phase"] + " " + o["items"][0]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]')" \
  "Pending ImagePullBackOff" "rollout imagepull: Pending, waiting ImagePullBackOff"
k8s_ctl POST rollout '{"namespace":"alluse","kind":"Deployment","name":"web","state":"deadline","replicas":1}' >/dev/null
k8s_req GET "$APPS/deployments/web"
is "$(k8s_jq '[c["status"] + " " + c["reason"] for c in o["status"]["conditions"] if c["type"] == "Progressing"][0]')" \
  "False ProgressDeadlineExceeded" "rollout deadline: Progressing False, ProgressDeadlineExceeded"
k8s_req PATCH "$APPS/statefulsets/db?fieldManager=alluse" '{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"db"},"spec":{"replicas":2,"serviceName":"db","selector":{"matchLabels":{"app":"db"}},"template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"pg","image":"postgres:15"}]}}}}' $APPLY
out=$(k8s_ctl POST rollout '{"namespace":"alluse","kind":"StatefulSet","name":"db","state":"ready"}')
is "$(printf '%s' "$out" | k8s_json 'str(o["status"]["readyReplicas"]) + " " + str(o["status"]["currentRevision"] == o["status"]["updateRevision"])')" \
  "2 True" "StatefulSet ready: readyReplicas 2, currentRevision = updateRevision"
k8s_req GET "$NS/alluse/pods?labelSelector=app%3Ddb"
is "$(k8s_jq '" ".join(p["metadata"]["name"] for p in o["items"])')" "db-0 db-1" "... Pods db-0 and db-1"
k8s_req PATCH "/apis/batch/v1/namespaces/alluse/jobs/migrate?fieldManager=alluse" '{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"migrate"},"spec":{"backoffLimit":2,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"migrate","image":"alluse:2","args":["db","migrate"]}]}}}}' $APPLY
out=$(k8s_ctl POST job '{"namespace":"alluse","name":"migrate","state":"succeeded"}')
is "$(printf '%s' "$out" | k8s_json '[c["type"] + "=" + c["status"] for c in o["status"]["conditions"]] + [str(o["status"]["succeeded"])]' | tr '\n' ' ')" \
  "Complete=True 1 " "Job succeeded: condition Complete, succeeded 1"
out=$(k8s_ctl POST job '{"namespace":"alluse","name":"migrate","state":"failed","log":"migration 7 failed"}')
is "$(printf '%s' "$out" | k8s_json '[c["type"] + "=" + c["status"] + " " + c["reason"] for c in o["status"]["conditions"]] + [str(o["status"]["failed"])]' | tr '\n' ' ')" \
  "Failed=True BackoffLimitExceeded 3 " "Job failed: condition Failed (BackoffLimitExceeded), failed = backoffLimit + 1"
k8s_req GET "$NS/alluse/pods?labelSelector=job-name%3Dmigrate"
jpod=$(k8s_jq 'o["items"][0]["metadata"]["name"]')
is "$(k8s_jq 'o["items"][0]["status"]["phase"]')" Failed "... its Pod Failed"
k8s_req GET "$NS/alluse/pods/$jpod/log"
is "$K8S_CODE $K8S_BODY" "200 migration 7 failed" "... and its log"
k8s_ctl POST rollout '{"namespace":"alluse","kind":"Deployment","name":"nothere","state":"ready"}' >/dev/null
is "$?" 1 "driving a missing workload fails"

# ---- auto mode ----
k8s_ctl POST auto '{"delayMs":300,"fail":{"alluse/bad":"crashloop","badjob":"failed"}}' >/dev/null
k8s_req PATCH "$APPS/deployments/quick?fieldManager=alluse" "$(deploy quick 1 alluse:2 '[]')" $APPLY
k8s_req GET "$APPS/deployments/quick"
is "$(k8s_jq 'str(o.get("status", {}).get("readyReplicas"))')" None "auto mode: right after the apply, not ready"
k8s_req PATCH "$APPS/deployments/bad?fieldManager=alluse" "$(deploy bad 1 alluse:2 '[]')" $APPLY
k8s_req PATCH "/apis/batch/v1/namespaces/alluse/jobs/badjob?fieldManager=alluse" '{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"badjob"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"m","image":"alluse:2"}]}}}}' $APPLY
sleep 0.4
k8s_req GET "$APPS/deployments/quick"
is "$(k8s_jq 'str(o["status"]["readyReplicas"]) + " " + str(o["status"]["observedGeneration"] == o["metadata"]["generation"])')" "1 True" \
  "... 300 ms later, ready"
k8s_req GET "$NS/alluse/pods?labelSelector=app%3Dbad"
is "$(k8s_jq 'o["items"][0]["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]')" CrashLoopBackOff \
  "... the one named to fail (alluse/bad) is in CrashLoopBackOff"
k8s_req GET /apis/batch/v1/namespaces/alluse/jobs/badjob
is "$(k8s_jq 'o["status"]["conditions"][0]["type"]')" Failed "... the Job named to fail failed"
k8s_req PATCH "$APPS/deployments/quick?fieldManager=alluse" "$(deploy quick 1 alluse:3 '[]')" $APPLY
k8s_req GET "$APPS/deployments/quick"
is "$(k8s_jq 'str(o["status"]["observedGeneration"] < o["metadata"]["generation"])')" True \
  "... a new generation: observedGeneration lags until the delay has passed"
k8s_ctl POST auto '{"delayMs":null}' >/dev/null

# ---- the CRDs missing ----
sm='{"apiVersion":"monitoring.coreos.com/v1","kind":"ServiceMonitor","metadata":{"name":"alluse"},"spec":{"endpoints":[{"port":"http"}],"selector":{"matchLabels":{"app":"web"}}}}'
k8s_req PATCH "/apis/monitoring.coreos.com/v1/namespaces/alluse/servicemonitors/alluse?fieldManager=alluse" "$sm" $APPLY
is "$K8S_CODE" 201 "a ServiceMonitor (CRDs installed): 201"
k8s_ctl POST crds '{"installed":false}' >/dev/null
k8s_req PATCH "/apis/monitoring.coreos.com/v1/namespaces/alluse/servicemonitors/alluse?fieldManager=alluse" "$sm" $APPLY
is "$K8S_CODE" 404 "CRDs missing: 404 under monitoring.coreos.com"
k8s_req GET /apis
is "$(k8s_jq 'str(any(g["name"] == "monitoring.coreos.com" for g in o["groups"]))')" False "... and /apis does not list the group"
k8s_ctl POST crds '{"installed":true}' >/dev/null

# ---- injected failures ----
k8s_ctl POST inject '{"method":"PATCH","path":"/deployments/web$","code":500,"times":1}' >/dev/null
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse&force=true" "$(deploy web 1 alluse:2 '[]')" $APPLY
is "$K8S_CODE:$(k8s_jq 'o["reason"]')" "500:InternalError" "an injected failure: 500 once"
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse&force=true" "$(deploy web 1 alluse:2 '[]')" $APPLY
is "$K8S_CODE" 200 "... then the request goes through"

# ---- the pod proxy ----
k8s_ctl POST pod-proxy "{\"namespace\":\"alluse\",\"pod\":\"db-0\",\"body\":{\"halted\":false,\"ordersInFlight\":0}}" >/dev/null
k8s_req GET "$NS/alluse/pods/db-0:8080/proxy/api/v1/status"
is "$K8S_CODE $K8S_BODY" '200 {"halted": false, "ordersInFlight": 0}' "pod proxy: a canned answer"
mkdir -p "$tmp/www/api/v1" && printf '{"halted":true}' > "$tmp/www/api/v1/status"
sport=$("$K8STEST_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$K8STEST_PYTHON" -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$sport" >/dev/null 2>&1 &
stub_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$sport") 2>/dev/null && break; sleep 0.05; done
k8s_ctl POST rollout "{\"namespace\":\"alluse\",\"kind\":\"Deployment\",\"name\":\"quick\",\"state\":\"ready\",\"annotations\":{\"k8s-fake.alluse.dev/proxy-url\":\"http://127.0.0.1:$sport\"}}" >/dev/null
k8s_req GET "$NS/alluse/pods?labelSelector=app%3Dquick"
qpod=$(k8s_jq 'o["items"][0]["metadata"]["name"]')
k8s_req GET "$NS/alluse/pods/$qpod:8080/proxy/api/v1/status"
is "$K8S_CODE $K8S_BODY" '200 {"halted":true}' "pod proxy: forwarded to the pod's proxy-url annotation (a python http.server stub)"
k8s_req GET "$NS/alluse/pods/$pod/proxy/api/v1/status"
is "$K8S_CODE" 404 "pod proxy to a Pod that is gone: 404"

# ---- Secrets and the request log ----
secret='{"apiVersion":"v1","kind":"Secret","metadata":{"name":"broker"},"stringData":{"api-key":"s3cr3t-VALUE-42"}}'
k8s_req PATCH "$NS/alluse/secrets/broker?fieldManager=alluse" "$secret" $APPLY
is "$K8S_CODE $(k8s_jq 'str("stringData" in o) + " " + o["data"]["api-key"] + " " + o["type"]')" \
  "201 False $(printf s3cr3t-VALUE-42 | base64) Opaque" "a Secret's stringData is stored base64 in data"
k8s_ctl DELETE log >/dev/null
k8s_req PATCH "$NS/alluse/configmaps/cfg?fieldManager=alluse" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"secret-ref":"broker"}}' $APPLY
k8s_req PATCH "$NS/alluse/secrets/broker?fieldManager=alluse" "$secret" $APPLY
k8s_req PATCH "$APPS/deployments/web?fieldManager=alluse&force=true" "$(deploy web 1 alluse:2 '[]')" $APPLY
K8S_AUTH=cert k8s_req GET "$APPS/deployments/web"
log=$(k8s_ctl GET 'log?bodies=1')
is "$(printf '%s' "$log" | k8s_json '[r["method"] + " " + r["path"].split("/")[-2] + " " + r["contentType"] + " " + r["fieldManager"] + " " + str(r["code"]) + " " + r["auth"] for r in o["requests"]]')" \
  "PATCH configmaps application/apply-patch+yaml alluse 201 token
PATCH secrets application/apply-patch+yaml alluse 200 token
PATCH deployments application/apply-patch+yaml alluse 200 token
GET deployments   200 cert:alluse-test" \
  "GET /_fake/log: the requests in order, content type, field manager, status, who"
is "$(printf '%s' "$log" | k8s_json '[r["path"] for r in o["requests"] if "s3cr3t-VALUE-42" in r["body"] or "s3cr3t-VALUE-42" in r["query"]]')" \
  "/api/v1/namespaces/alluse/secrets/broker" "... with bodies: the secret's value went to the Secret only"
is "$(k8s_ctl GET log | k8s_json 'str(any("body" in r for r in o["requests"])) + " " + o["requests"][0]["query"]')" \
  "False fieldManager=alluse" "... without ?bodies=1 no bodies; the query string is there"

# ---- namespace deletion, reset ----
k8s_req DELETE $NS/alluse
is "$K8S_CODE $(k8s_jq 'o["kind"] + " " + o["status"]["phase"]')" "200 Namespace Terminating" \
  "DELETE a Namespace answers the Namespace, Terminating"
k8s_req GET "$APPS/deployments/web"
is "$K8S_CODE" 404 "... what was in it is gone"
k8s_ctl POST reset >/dev/null
k8s_req GET $NS
is "$(k8s_jq '" ".join(n["metadata"]["name"] for n in o["items"])')" "default kube-public kube-system" \
  "POST /_fake/reset: only the three namespaces"

# ---- plain HTTP, in a shell of its own ----
out=$(K8STEST_PLAIN=1 bash -c '. "$1/k8s_fake.sh"; trap k8s_stop EXIT; k8s_start --no-crds || exit 1
  k8s_req GET /apis/monitoring.coreos.com/v1; echo "$K8STEST_URL $K8S_CODE"' _ "$here" 2>&1)
like "$out" "^http://127\.0\.0\.1:[0-9]+ 404$" "K8STEST_PLAIN=1: plain HTTP; --no-crds: no monitoring.coreos.com"

done_testing
