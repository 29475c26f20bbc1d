-- alluse.deploy.yaml: stable manifests out, kubeconfig files in, and nothing misread
-- on the way.  Where Debian's PyYAML is installed (python3-yaml, make deps), what the
-- emitter writes is also read back by PyYAML, a YAML 1.1 parser, and compared with the
-- JSON of the same value.
local t = require("alluse.test")
local yaml = require("alluse.deploy.yaml")
local json = require("alluse.json")

local here = (debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", ""))
local enc, dec = yaml.encode, yaml.decode

local function raised(fn)
  local ok, err = pcall(fn)
  if ok then return nil end
  return tostring(err)
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-------------------------------------------------------------------- strings that must be quoted

-- Every one of these is a string some YAML parser would misread if written bare.
local tricky = {
  "1", "0x1F", "1e3", ".5", "0o17", "+1", "-1", "1_000", "1:30", "0b101", "017", "1.", "1.0", "-0", "0x1p-2",
  ".inf", "-.inf", "+.Inf", ".NaN", ".nan", "inf", "NaN", "-Infinity",
  "yes", "no", "on", "off", "y", "n", "Y", "N", "true", "False", "TRUE", "Yes", "NO", "On",
  "null", "Null", "NULL", "~", "", "<<", "=",
  "2024-01-02", "2024-01-02T03:04:05Z", "2024-1-2", "2024-01-02 03:04:05",
  "- x", "-", "? x", "?", ": x", ":", ",", "[", "]", "{", "}", "[a, b]", "{a: 1}", "#x", "&a", "*a", "!tag", "!!str",
  "|", ">", "'", "''", '"', "%YAML", "@x", "`x", "---", "...", "--- x", "...x",
  "a: b", "a #b", "a:", " lead", "trail ", " ", "  ", "a\tb", "\t", "\tx",
  "a\rb", "\0", "bell\a", "esc\27", "del\127", "nel\194\133", "c1\194\128", "ls\226\128\168", "ps\226\128\169",
  "bom\239\187\191", "\239\191\191", "it's", 'say "hi"', "back\\slash", "caf\195\169", "\240\159\152\128 emoji",
  "\n", "\n\n", "a\n", "a", "a\nb", "a\nb\n", "a\nb\n\n", "a\n\n\nb", " a\nb\n", "\n a\n", "  \nx", "a\n  ",
  "a\n \nb", "#!/bin/sh\nset -e\n", "tab\tin\nblock\n", "cr\r\nlf\n", "key: v\n- item\n", "---\n...\n",
}

do
  local bad = {}
  for i, s in ipairs(tricky) do
    local forms = {
      { v = s, name = "document" },
      { v = { k = s }, name = "value" },
      { v = { [s] = "v" }, name = "key" },
      { v = json.array({ s, s }), name = "item" },
      { v = { a = json.array({ { b = s } }) }, name = "nested" },
    }
    for _, f in ipairs(forms) do
      local text = enc(f.v)
      local back, err = dec(text, "rt")
      if err or not (function()
        local a, b = json.encode(back, { sorted = true }), json.encode(f.v, { sorted = true })
        return a == b
      end)() then
        bad[#bad + 1] = string.format("%d %q as %s: %q -> %s", i, s, f.name, text, err or json.encode(back))
      end
    end
  end
  t.is(#bad, 0, #tricky .. " tricky strings round-trip as document, value, key, item and nested value")
  for i = 1, math.min(#bad, 5) do t.diag(bad[i]) end
end

t.is(enc("1"), "'1'\n", "a number-like string is single-quoted")
t.is(enc("yes"), "'yes'\n", "YAML 1.1 booleans are quoted")
t.is(enc("off"), "'off'\n", "off too")
t.is(enc("~"), "'~'\n", "~ is null: quoted")
t.is(enc(""), "''\n", "the empty string is quoted")
t.is(enc("2024-01-02"), "'2024-01-02'\n", "dates are quoted")
t.is(enc("it's"), "it's\n", "an apostrophe inside needs no quotes")
t.is(enc("'x'"), "'''x'''\n", "a leading quote: single quotes, doubled inside")
t.is(enc("a: b"), "'a: b'\n", "': ' is quoted")
t.is(enc("a #b"), "'a #b'\n", "' #' is quoted")
t.is(enc("a#b"), "a#b\n", "'#' without a space before it is plain")
t.is(enc("a\tb"), '"a\\tb"\n', "a tab is escaped in double quotes")
t.is(enc("\0\a\b\v\f\r\27\127"), '"\\0\\a\\b\\v\\f\\r\\e\\x7F"\n', "control characters get YAML escapes")
t.is(enc("\1"), '"\\x01"\n', "other controls are \\xNN")
t.is(enc("\194\133\226\128\168\226\128\169\239\187\191"), '"\\N\\L\\P\\uFEFF"\n', "NEL, LS, PS and BOM are escaped")
t.is(enc('a"b\\c'), 'a"b\\c\n', "quotes and backslashes inside a plain scalar stay")
t.is(enc('\ta"b\\c'), '"\\ta\\"b\\\\c"\n', "... and are escaped in double quotes")
t.is(enc("caf\195\169 \226\130\172"), "caf\195\169 \226\130\172\n", "non-ASCII text is written as UTF-8")
t.is(enc("--port=8080"), "--port=8080\n", "a dash before a non-space is plain")
t.is(enc("10Gi"), "10Gi\n", "Kubernetes quantities stay plain")
t.is(enc("100m"), "100m\n", "... millicores too")
t.is(enc("nginx:1.25"), "nginx:1.25\n", "a colon not followed by a space is plain")
t.is(enc("https://example.com:6443/x?y=1#z"), "https://example.com:6443/x?y=1#z\n", "URLs are plain")
t.is(enc("1.2.3"), "'1.2.3'\n", "version strings that start like numbers are quoted (harmless)")
t.is(enc("0e1f2a3"), "0e1f2a3\n", "a commit hash with letters past e is plain")
t.is(enc("0e12"), "'0e12'\n", "... one that reads as a float is not")
t.is(enc("v1.2.3"), "v1.2.3\n", "... and those that do not are not")
t.is(enc("---"), "'---'\n", "a document marker is quoted")
t.is(enc(" x"), "' x'\n", "a leading space is quoted")
t.is(enc("\n"), '"\\n"\n', "only line breaks: double quotes (a block of them reads back empty)")
t.like(raised(function() enc("\255") end), "invalid UTF%-8 %(byte 1 of the string%) at the top level", "invalid UTF-8 raises")

-------------------------------------------------------------------- block scalars

t.is(enc({ s = "a\nb\n" }), "s: |\n  a\n  b\n", "one trailing newline: |")
t.is(enc({ s = "a\nb" }), "s: |-\n  a\n  b\n", "none: |-")
t.is(enc({ s = "a\nb\n\n" }), "s: |+\n  a\n  b\n\n", "several: |+")
t.is(enc({ s = " a\nb\n" }), "s: |2\n   a\n  b\n", "a leading space: indentation indicator")
t.is(enc({ s = "\n\n a\n" }), "s: |2\n\n\n   a\n", "leading empty lines then a space: indicator")
t.is(enc({ s = "a\n\nb\n" }), "s: |\n  a\n\n  b\n", "empty lines carry no indentation")
t.is(enc({ s = "a\n   \nb" }), "s: |-\n  a\n     \n  b\n", "a line of spaces keeps them")
t.is(enc(json.array({ "a\nb\n" })), "- |\n  a\n  b\n", "a block scalar as a sequence item")
t.is(enc({ l = json.array({ { s = " x\n" } }) }), "l:\n- s: |2\n     x\n", "... in a mapping inside a sequence")
t.is(enc("a\nb\n"), "|\n  a\n  b\n", "a whole document")
t.is(enc(" a\nb\n"), '" a\\nb\\n"\n', "a document that would need an indicator is double-quoted")
t.is(enc({ ["a\nb"] = 1 }), '"a\\nb": 1\n', "keys are never blocks")
t.is(enc({ s = "a\r\nb\n" }), 's: "a\\r\\nb\\n"\n', "a CR needs an escape, so no block")
t.is(enc({ s = "a\tb\nc\n" }), "s: |\n  a\tb\n  c\n", "tabs are fine in a block")

-------------------------------------------------------------------- numbers and other scalars

t.is(enc(json.array({ 0, 1, -42, 2 ^ 53, 1718900000123456 })), "- 0\n- 1\n- -42\n- 9007199254740992\n- 1718900000123456\n",
  "integers as integers")
t.is(enc(json.array({ 0.1, 1 / 3, 123456.789, -1.5e-7 })), "- 0.1\n- 0.3333333333333333\n- 123456.789\n- -1.5e-7\n",
  "floats: shortest digits that read back exactly")
t.is(enc(json.array({ 1e300, 1e-7, 2 ^ 60, 5e-324 })), "- 1.0e+300\n- 1.0e-7\n- 1.152921504606847e+18\n- 5.0e-324\n",
  "exponents get a point and a sign, as YAML 1.1 floats need")
t.is(enc(json.array({ 0 / 0, math.huge, -math.huge, -0.0 })), "- .nan\n- .inf\n- -.inf\n- -0.0\n", "NaN, infinities and -0")
t.is(enc(18446744073709551615ULL), "18446744073709551615\n", "uint64 cdata is exact")
t.is(enc(json.array({ true, false, json.null })), "- true\n- false\n- null\n", "booleans and null")
t.is(enc(nil), "null\n", "nil is null")
do
  math.randomseed(4242)
  local bad
  for i = 1, 3000 do
    local x = (math.random() - 0.5) * 10 ^ math.random(-320, 308)
    if i % 3 == 0 then x = math.random(-2 ^ 31, 2 ^ 31) end
    local back = dec(enc({ x = x })).x
    if back ~= x and not bad then bad = string.format("%.17g -> %s", x, enc(x)) end
  end
  t.is(bad, nil, "random numbers round-trip exactly")
end

-------------------------------------------------------------------- tables

t.is(enc({}), "{}\n", "an empty table is an empty mapping, as in JSON")
t.is(enc(json.array()), "[]\n", "json.array() is an empty sequence")
t.is(enc({ a = {}, b = json.empty_array }), "a: {}\nb: []\n", "empty collections as values")
t.is(enc(json.array({ {}, json.array() })), "- {}\n- []\n", "... and as items")
t.is(enc(json.array({ [1] = "a", [3] = "c" })), "- a\n- null\n- c\n", "holes in a json.array are nulls")
t.is(enc({ { 1, 2 }, { 3 } }), "- - 1\n  - 2\n- - 3\n", "sequences of sequences are compact")
t.is(enc({ { a = 1, b = { c = 2 } }, { d = { 1 } } }), "- a: 1\n  b:\n    c: 2\n- d:\n  - 1\n",
  "sequences of mappings in the - key: v form")
t.is(enc({ a = { b = { c = { d = "e" } } } }), "a:\n  b:\n    c:\n      d: e\n", "two spaces per level")
t.is(enc({ ["odd key"] = 1, ["1"] = 2, ["yes"] = 3, ["a:b"] = 4, ["-x"] = 5 }),
  "-x: 5\n'1': 2\na:b: 4\nodd key: 1\n'yes': 3\n", "keys are quoted by the same rules as values")

-------------------------------------------------------------------- key order

t.is(enc({ status = {}, data = 1, spec = 2, metadata = 3, kind = 4, apiVersion = 5, zeta = 6, alpha = 7 }),
  "apiVersion: 5\nkind: 4\nmetadata: 3\nspec: 2\ndata: 1\nstatus: {}\nalpha: 7\nzeta: 6\n",
  "Kubernetes keys first, in their usual order, then the rest sorted")
t.is(enc({ kind = 1, b = 2, a = 3 }, { order = false }), "a: 3\nb: 2\nkind: 1\n", "order = false: all sorted")
t.is(enc({ name = 1, image = 2, args = 3, kind = 4 }, { order = { "name", "image", "absent" } }),
  "name: 1\nimage: 2\nargs: 3\nkind: 4\n", "order = {...}: those first, absent ones skipped")
t.is(enc({ x = yaml.order({ c = 1, b = 2, a = 3 }, { "c" }) }), "x:\n  c: 1\n  a: 3\n  b: 2\n", "yaml.order on one table")
do
  local m = yaml.ordered({ { "zeta", 1 }, { "alpha", 2 }, { "kind", 3 } })
  t.is(enc(m), "zeta: 1\nalpha: 2\nkind: 3\n", "yaml.ordered writes the pairs' order")
  t.is(json.encode(m, { sorted = true }), '{"alpha":2,"kind":3,"zeta":1}', "... and stays a plain table for JSON")
end
t.raises(function() yaml.ordered({ { "a", 1 }, { "a", 2 } }) end, "listed twice", "yaml.ordered refuses a repeated key")
t.raises(function() yaml.ordered({ { 1, 2 } }) end, "string key", "yaml.ordered wants string keys")
t.raises(function() yaml.order({}, { 1 }) end, "not a string", "yaml.order wants string keys")
t.raises(function() enc({}, { nope = 1 }) end, "unknown option 'nope'", "unknown options are refused")

-------------------------------------------------------------------- errors

t.like(raised(function()
  enc({ spec = { template = { spec = { containers = { { name = "x", command = print } } } } } })
end), "test_yaml%.lua:%d+: yaml: cannot encode a function at path spec%.template%.spec%.containers%[1%]%.command$",
  "a function raises, naming the path and pointing at the caller")
do
  local cyc = { a = {} }
  cyc.a.back = cyc
  t.like(raised(function() enc(cyc) end), "yaml: cycle %(a table contains itself%) at path a%.back$", "cycles raise")
end
t.like(raised(function() enc({ metadata = { [true] = 1 } }) end), "non%-string key true %(a boolean%) at path metadata$",
  "a boolean key raises")
t.like(raised(function() enc({ [1.5] = 1 }) end), "non%-string key 1%.5 %(a number%) at the top level$", "a float key raises")
t.like(raised(function() enc({ [1] = 1, [3] = 3 }) end), "gaps in 1%.%.n", "a sparse table raises")
t.like(raised(function() enc({ 1, a = 2 }) end), "mixes string and number keys", "mixed keys raise")
t.like(raised(function() enc({ ["odd key"] = { x = coroutine.create(print) } }) end),
  'cannot encode a thread at path %["odd key"%]%.x$', "odd keys are quoted in the path")
t.like(raised(function() enc({ [("k"):rep(1100)] = 1 }) end), "key longer than 1024 characters", "very long keys raise")
t.like(raised(function() yaml.encode_documents({ {}, { a = print } }) end), "at path a of document 2$",
  "encode_documents names the document")
do
  local deep = {}
  local cur = deep
  for _ = 1, 300 do
    cur.x = {}
    cur = cur.x
  end
  t.like(raised(function() enc(deep) end), "nesting deeper than 256", "too deep raises")
end

-------------------------------------------------------------------- documents

t.is(yaml.encode_documents({ { kind = "A" }, "x", { kind = "B", apiVersion = "v1" } }),
  "kind: A\n---\nx\n---\napiVersion: v1\nkind: B\n", "documents separated by ---")
t.is(yaml.encode_documents({}), "", "no documents, no text")

-------------------------------------------------------------------- a golden manifest

local function deployment()
  return {
    apiVersion = "apps/v1",
    kind = "Deployment",
    metadata = {
      name = "alluse-acct-1",
      namespace = "trading",
      labels = { ["app.kubernetes.io/name"] = "alluse", ["app.kubernetes.io/managed-by"] = "alluse" },
      annotations = { ["alluse.io/revision"] = "7", ["alluse.io/commit"] = "0e1f2a3" },
    },
    spec = {
      replicas = 1,
      strategy = { type = "Recreate" },
      selector = { matchLabels = { ["app.kubernetes.io/name"] = "alluse" } },
      template = {
        metadata = { labels = { ["app.kubernetes.io/name"] = "alluse" } },
        spec = {
          terminationGracePeriodSeconds = 60,
          securityContext = { runAsNonRoot = true, runAsUser = 65532 },
          containers = { {
            name = "alluse",
            image = "ghcr.io/alluse/alluse:1.2.3",
            args = { "run", "/strategies/alluse.lua", "--broker", "paper", "--listen", ":8080" },
            env = { { name = "ALLUSE_DB", valueFrom = { secretKeyRef = { name = "db", key = "url" } } },
              { name = "ALLUSE_DRY_RUN", value = "false" } },
            ports = { { name = "http", containerPort = 8080 } },
            readinessProbe = { httpGet = { path = "/readyz", port = "http" }, periodSeconds = 5 },
            resources = { limits = { memory = "512Mi" }, requests = { cpu = "250m", memory = "256Mi" } },
            securityContext = { allowPrivilegeEscalation = false, readOnlyRootFilesystem = true,
              capabilities = { drop = { "ALL" } } },
            volumeMounts = { { name = "strategies", mountPath = "/strategies", readOnly = true } },
          } },
          volumes = { { name = "strategies", configMap = { name = "alluse-strategies" } } },
        },
      },
    },
  }
end

local golden = [[
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    alluse.io/commit: 0e1f2a3
    alluse.io/revision: '7'
  labels:
    app.kubernetes.io/managed-by: alluse
    app.kubernetes.io/name: alluse
  name: alluse-acct-1
  namespace: trading
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: alluse
  strategy:
    type: Recreate
  template:
    metadata:
      labels:
        app.kubernetes.io/name: alluse
    spec:
      containers:
      - args:
        - run
        - /strategies/alluse.lua
        - --broker
        - paper
        - --listen
        - ':8080'
        env:
        - name: ALLUSE_DB
          valueFrom:
            secretKeyRef:
              key: url
              name: db
        - name: ALLUSE_DRY_RUN
          value: 'false'
        image: ghcr.io/alluse/alluse:1.2.3
        name: alluse
        ports:
        - containerPort: 8080
          name: http
        readinessProbe:
          httpGet:
            path: /readyz
            port: http
          periodSeconds: 5
        resources:
          limits:
            memory: 512Mi
          requests:
            cpu: 250m
            memory: 256Mi
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop:
            - ALL
          readOnlyRootFilesystem: true
        volumeMounts:
        - mountPath: /strategies
          name: strategies
          readOnly: true
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
      terminationGracePeriodSeconds: 60
      volumes:
      - configMap:
          name: alluse-strategies
        name: strategies
]]

t.is(enc(deployment()), golden, "a Deployment renders to the hand-checked text")
t.is(enc(deployment()), enc(deployment()), "... the same bytes every time")
t.is(enc(dec(golden, "golden")), golden, "... and decoding then encoding it gives it back")

-------------------------------------------------------------------- the reader: kubeconfig

do
  local path = here .. "../fixtures/yaml/kubeconfig"
  local cfg, err = dec(read_file(path), path)
  t.is(err, nil, "a kubectl-written kubeconfig decodes")
  local eks_args = json.array({ "--region", "us-east-1", "eks", "get-token", "--cluster-name", "prod" })
  local ext = function(name)
    return json.array({ { name = name, extension = { ["last-update"] = "Mon, 01 Jan 2024 10:00:00 UTC",
      provider = "minikube.sigs.k8s.io", version = "v1.32.0" } } })
  end
  local want = {
    apiVersion = "v1",
    kind = "Config",
    ["current-context"] = "kind-alluse",
    preferences = {},
    clusters = json.array({
      { name = "kind-alluse", cluster = {
        ["certificate-authority-data"] = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Foa2pPUFFRREFqQWpNU0V3SHdZRFZRUUREQmhyTTNNdGMyVnkKZG1WeUxXTmhRREUzTURBd01EQXdNREF3SGhjTk1qUXdNVEF4TURBd01EQXdXaGNOTXpNeE1qSTVNREF3TURBdwpXakFqTVNFd0h3WURWUVFEREJock0zTXRjMlZ5ZG1WeUxXTmhRREUzTURBd01EQXdNREF3V1RBVEJnY3Foa2pPClBRSUJCZ2dxaGtqT1BRTUJCd05DQUFUZXN0ZGF0YQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==",
        server = "https://127.0.0.1:6443" } },
      { name = "minikube", cluster = { ["certificate-authority"] = "/home/me/.minikube/ca.crt",
        extensions = ext("cluster_info"), server = "https://192.168.49.2:8443" } },
      { name = "prod", cluster = { ["insecure-skip-tls-verify"] = true, server = "https://10.0.0.1:443",
        ["tls-server-name"] = "api.example.com" } },
    }),
    contexts = json.array({
      { name = "kind-alluse", context = { cluster = "kind-alluse", namespace = "trading", user = "kind-alluse" } },
      { name = "minikube", context = { cluster = "minikube", extensions = ext("context_info"), namespace = "default",
        user = "minikube" } },
      { name = "prod", context = { cluster = "prod", user = "eks-prod" } },
    }),
    users = json.array({
      { name = "kind-alluse", user = {
        ["client-certificate-data"] = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrVENDQVRlZ0F3SUJBZ0lJWTJsbGJuUXhNak13RFFZSktvWklodmNOQVFFTEJRQXdJekVoTUI4R0ExVUUKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=",
        ["client-key-data"] = "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSU9GYWtlS2V5RGF0YUZvclRlc3RzT25seQotLS0tLUVORCBFQyBQUklWQVRFIEtFWS0tLS0tCg==" } },
      { name = "minikube", user = { ["client-certificate"] = "/home/me/.minikube/profiles/minikube/client.crt",
        ["client-key"] = "/home/me/.minikube/profiles/minikube/client.key" } },
      { name = "token-user", user = {
        token = "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dHJhZGluZzphbGx1c2UifQ.c2lnbmF0dXJl" } },
      { name = "eks-prod", user = { exec = { apiVersion = "client.authentication.k8s.io/v1beta1", args = eks_args,
        command = "aws", env = json.array({ { name = "AWS_PROFILE", value = "prod" } }), interactiveMode = "IfAvailable",
        provideClusterInfo = false } } },
      { name = "gke", user = { exec = { apiVersion = "client.authentication.k8s.io/v1beta1", args = json.null,
        command = "gke-gcloud-auth-plugin", env = json.null,
        installHint = "Install gke-gcloud-auth-plugin for use with kubectl by following "
          .. "https://cloud.google.com/blog/products/containers-kubernetes/kubectl-auth-changes-in-gke",
        interactiveMode = "IfAvailable", provideClusterInfo = true } } },
      { name = "oidc", user = { ["auth-provider"] = { name = "oidc", config = { ["client-id"] = "alluse",
        ["extra-scopes"] = json.array({ "groups", "email" }), ["idp-issuer-url"] = "https://sso.example.com/realms/main" } } } },
    }),
  }
  t.is_deeply(cfg, want, "... to the expected table (folded plain scalar, flow list, quoted values, comments)")
  t.ok(cfg and json.is_array(cfg.users), "sequences come back as json.array tables")
  local again = dec(enc(cfg))
  t.is_deeply(again, want, "the kubeconfig survives encode and decode")
end

-------------------------------------------------------------------- the reader: features

local function reads(text, want, name)
  local v, err = dec(text, "t")
  if err then return t.fail(name, err) end
  return t.is_deeply(v, want, name)
end

reads("a: 1\nb: -2\nc: 0x1F\nd: 0o17\ne: 1.5\nf: .5\ng: 1e3\nh: -.inf\ni: .NaN\nj: 007\n",
  { a = 1, b = -2, c = 31, d = 15, e = 1.5, f = 0.5, g = 1000, h = -math.huge, i = 0 / 0, j = 7 },
  "core schema numbers")
reads("a: true\nb: False\nc: null\nd: ~\ne:\nf: yes\ng: off\nh: 2024-01-02\ni: '1'\nj: \"true\"\nk: 1_000\n",
  { a = true, b = false, c = json.null, d = json.null, e = json.null, f = "yes", g = "off", h = "2024-01-02",
    i = "1", j = "true", k = "1_000" }, "booleans and nulls by YAML 1.2; yes/off/dates/quoted stay strings")
reads("- a\n- - b\n  - c\n- d: 1\n  e: [x, 'y', \"z\"]\n- {f: 1, g: [], h: {}}\n- []\n",
  { "a", { "b", "c" }, { d = 1, e = { "x", "y", "z" } }, { f = 1, g = {}, h = {} }, {} }, "sequences, compact and flow")
reads("k:\n- a\n- b\nl: 2\n", { k = { "a", "b" }, l = 2 }, "a sequence at its key's indentation")
reads("k:\n    - a\n    - b\n", { k = { "a", "b" } }, "... or indented under it")
reads("# head\n---\n# c\na: 1 # trailing\n\n   # indented comment\nb: 'x # not a comment'\nc: x#y\n...\n# tail\n",
  { a = 1, b = "x # not a comment", c = "x#y" }, "comments, --- and ...")
reads("a: |\n  l1\n   l2\n\n  l3\nb: >\n  f1\n  f2\n\n  f3\n    more\n  f4\nc: |-\n  x\nd: |+\n  y\n\ne: |2\n    z\n  w\n",
  { a = "l1\n l2\n\nl3\n", b = "f1 f2\nf3\n  more\nf4\n", c = "x", d = "y\n\n", e = "  z\nw\n" }, "block scalars")
reads("a: >-\n  x\n  y\nb: |\n  # not a comment\n", { a = "x y", b = "# not a comment\n" }, "folded strip; # in a block")
reads('a: "\\t\\n\\\\\\"\\x41\\u00e9\\U0001F600\\ud83d\\ude00\\N\\_\\/"\n',
  { a = "\t\n\\\"A\195\169\240\159\152\128\240\159\152\128\194\133\194\160/" }, "double-quoted escapes")
reads("a: 'it''s'\nb: \"x\n  y\n\n  z\"\nc: 'p\n  q'\nd: \"j\\\n  k\"\n",
  { a = "it's", b = "x y\nz", c = "p q", d = "jk" }, "quoted strings over several lines fold")
reads("a: plain\n  text\n\n  more\nb: 1\n", { a = "plain text\nmore", b = 1 }, "plain scalars over several lines fold")
reads('"quoted key": 1\n\'x y\': 2\n1: 3\ntrue: 4\n', { ["quoted key"] = 1, ["x y"] = 2, ["1"] = 3, ["true"] = 4 },
  "keys are strings, as written")
reads("url: https://h:6443/p\nimg: nginx:1.25\n", { url = "https://h:6443/p", img = "nginx:1.25" }, "colons inside values")
reads("a: 1\r\nb:\r\n- x\r\n", { a = 1, b = { "x" } }, "CRLF line ends")
reads("\239\187\191a: 1\n", { a = 1 }, "a byte-order mark is skipped")
reads("", json.null, "an empty document is null")
reads("# only comments\n", json.null, "... so is one of comments")
reads("--- |\n  text\n", "text\n", "a block scalar after ---")
reads("plain\n", "plain", "a document that is a scalar")
reads("{a: {b: [1, {c: d}]}, 'e': \"f\", g: }\n", { a = { b = { 1, { c = "d" } } }, e = "f", g = json.null }, "nested flow")
reads("a: 9007199254740992\n", { a = 2 ^ 53 }, "2^53 is exact")
reads("-x: 1\n--y: 2\n", { ["-x"] = 1, ["--y"] = 2 }, "keys may start with a dash")
reads("a:\tb\n", { a = "b" }, "a tab after the colon separates")

-------------------------------------------------------------------- the reader: errors

local function refuses(text, pattern, name)
  local v, err = dec(text, "cfg.yaml")
  if v ~= nil then return t.fail(name, "decoded to " .. json.encode(v)) end
  return t.like(err, pattern, name)
end

refuses("a: &x 1\nb: *x\n", "^cfg%.yaml:1: anchors %(&name%) are not supported$", "anchors are refused with their line")
refuses("a: 1\nb: *x\n", "^cfg%.yaml:2: aliases", "aliases too")
refuses("a: !!str 1\n", "^cfg%.yaml:1: tags", "tags too")
refuses("a: 1\n---\nb: 2\n", "^cfg%.yaml:2: a second document", "a second document is refused")
refuses("a: 1\n...\nb: 2\n", "^cfg%.yaml:3: unexpected content", "content after ... is refused")
refuses("%YAML 1.2\n---\na: 1\n", "^cfg%.yaml:1: directives", "directives are refused")
refuses("a:\n\tb: 1\n", "^cfg%.yaml:2: tab in the indentation", "tab indentation is refused")
refuses("a: 1\na: 2\n", "^cfg%.yaml:2: duplicate key 'a'", "duplicate keys are refused")
refuses("a:\n    b: 1\n  c: 2\n", "^cfg%.yaml:3: bad indentation", "bad indentation")
refuses("a: 1\n  b: 2\n", "^cfg%.yaml:2: 'key: value' is not allowed here", "a key inside a plain scalar")
refuses("a: b: c\n", "^cfg%.yaml:1: 'key: value' is not allowed here", "a: b: c")
refuses("a: - b\n", "^cfg%.yaml:1: a '%- ' entry cannot start here", "a: - b")
refuses('a: "open\nb: 1\n', "^cfg%.yaml:1: a quoted string that does not end", "unterminated double quotes")
refuses("a: 'open\n", "^cfg%.yaml:1: a quoted string that does not end", "unterminated single quotes")
refuses("a: [1, 2\nb: 3\n", "^cfg%.yaml:1: a %[ or { that does not close on its line", "multi-line flow is refused")
refuses("a: [1] x\n", "^cfg%.yaml:1: unexpected text after a %[%] or {} collection", "text after ]")
refuses("a: {b: 1, b: 2}\n", "^cfg%.yaml:1: duplicate key 'b'", "duplicate flow keys")
refuses("a: [b: 1]\n", "^cfg%.yaml:1: 'key: value' inside %[%] is not supported", "pairs in [] are refused")
refuses('a: "\\q"\n', "^cfg%.yaml:1: unknown escape '\\q'", "unknown escapes")
refuses('a: "\\ud800"\n', "^cfg%.yaml:1: the escape '\\ud800' is not a Unicode character", "lone surrogates")
refuses("a: 9007199254740993\n", "^cfg%.yaml:1: integer 9007199254740993 is beyond 2%^53", "big integers are refused")
refuses("a: 1\nb: \255\n", "^cfg%.yaml:2: invalid UTF%-8", "invalid UTF-8 names its line")
refuses("a: 1\n\nb: \1\n", "^cfg%.yaml:3: control character 0x01", "control characters name their line")
refuses("? a\n: b\n", "^cfg%.yaml:1: explicit keys", "explicit keys are refused")
refuses("- a\nb: 1\n", "^cfg%.yaml:2: expected a '%- ' entry", "a key after a top-level sequence")
refuses("a: 1\n- b\n", "^cfg%.yaml:2: a '%- ' entry where a key was expected", "an entry in a mapping")
refuses("a: |x\n", "^cfg%.yaml:1: a block scalar header", "a bad block header")
refuses("a: |\n    x\n  y\n", "^cfg%.yaml:3: bad indentation", "a block scalar then a line deeper than its key")
refuses("a: @x\n", "^cfg%.yaml:1: '@' is reserved", "reserved indicators")
refuses(("[" ):rep(300), "nesting deeper than 256", "deep nesting is refused")
refuses(("- "):rep(300) .. "x\n", "nesting deeper than 256", "deep block nesting too")
t.raises(function() dec(42) end, "expects a string", "decode raises only for a non-string")
do
  local _, err = dec("a: *x\n")
  t.like(err, "^yaml:1: ", "the default name is yaml")
end

-------------------------------------------------------------------- random strings and documents

do
  math.randomseed(90210)
  local alphabet = { "a", "Z", "0", "1", "9", ".", "-", "+", "e", "x", "o", ":", " ", " ", "#", "'", '"', "\\", "\n",
    "\n", "\t", "\r", "[", "]", "{", "}", ",", "&", "*", "!", "|", ">", "%", "@", "`", "?", "~", "_",
    "\195\169", "\226\130\172", "\240\159\152\128", "\0", "\27", "\194\133", "\226\128\168", "\239\187\191", "yes",
    "null", "true", "---", "...", "<<", "=", "2024-01-02", "inf", "NaN", "0x", "1e5" }
  local function random_string()
    local parts = {}
    for i = 1, math.random(0, 8) do parts[i] = alphabet[math.random(#alphabet)] end
    return table.concat(parts)
  end
  local bad, n = nil, 0
  for _ = 1, 3000 do
    local s = random_string()
    local v = { [s] = json.array({ s, { [s] = s } }) }
    local text = enc(v)
    local back, err = dec(text, "r")
    n = n + 1
    if not bad and (err or json.encode(back, { sorted = true }) ~= json.encode(v, { sorted = true })) then
      bad = string.format("%q -> %q -> %s", s, text, err or json.encode(back))
    end
  end
  t.is(bad, nil, n .. " random strings round-trip as keys, items and values")
end

-- Mutations of valid documents and random bytes: decode answers (a value, or nil and one
-- line naming the input and a line), never raises, never trips over itself; whatever it
-- accepts encodes, and reads back the same.
do
  math.randomseed(1234567)
  local seeds = {
    read_file(here .. "../fixtures/yaml/kubeconfig"),
    golden,
    "a: |\n  l1\n   l2\n\nb: >-\n  f\n  g\nc: 'it''s'\nd: \"x\\ty\\\n  z\"\ne: [1, {f: g}, 'h']\n- x\n",
    "---\nk:\n- a: 1\n  b: [x, y]\n- - n\n  - m\nz: plain\n  more\n...\n",
    "# c\n\"q\": {a: 1, b: }\n'r': .inf\ns: 0x1F\nt: ~\nu: 2024-01-02\nv: |+\n  keep\n\n",
  }
  local pieces = { " ", "  ", "\n", "-", "- ", ":", ": ", "#", " #", "'", '"', "\\", "[", "]", "{", "}", ",", "|",
    ">", "|-", ">+", "|2", "&a", "*a", "!t", "?", "? ", "%", "@", "`", "\t", "\r", "---", "...", "\n---\n", "x", "1",
    "\\u", "\\x4", "\194\133", "\255", "\0", "~", "0x", "1e999", "99999999999999999999" }
  local function mutate(s)
    for _ = 1, math.random(1, 4) do
      local op, i = math.random(6), math.random(0, #s)
      if op == 1 then
        s = s:sub(1, i) .. pieces[math.random(#pieces)] .. s:sub(i + 2)
      elseif op == 2 then
        s = s:sub(1, i) .. pieces[math.random(#pieces)] .. s:sub(i + 1)
      elseif op == 3 then
        s = s:sub(1, i) .. s:sub(i + math.random(1, 20))
      elseif op == 4 then
        s = s:sub(1, i)
      elseif op == 5 then
        s = s:sub(1, i) .. string.char(math.random(0, 255)) .. s:sub(i + 1)
      else
        local a, b = s:match("^(.-\n)(.*)$")
        if a then s = b .. a end
      end
    end
    return s
  end
  local function random_bytes()
    local b = {}
    for i = 1, math.random(0, 200) do b[i] = string.char(math.random(0, 255)) end
    return table.concat(b)
  end
  local raises, bad_message, internal, not_round, accepted, refused = nil, nil, nil, nil, 0, 0
  for i = 1, 6000 do
    local s = i % 5 == 0 and random_bytes() or mutate(seeds[math.random(#seeds)])
    local ok, v, err = pcall(dec, s, "fuzz")
    if not ok then
      raises = raises or string.format("%q: %s", s, tostring(v))
    elseif v == nil then
      refused = refused + 1
      if type(err) ~= "string" or not err:find("^fuzz:%d+: [^\n]+$") or json.utf8_error(err) then
        bad_message = bad_message or string.format("%q: %q", s, tostring(err))
      elseif err:find("internal error", 1, true) then
        internal = internal or string.format("%q: %s", s, err)
      end
    else
      accepted = accepted + 1
      local eok, text = pcall(enc, v)
      local back = eok and dec(text)
      if not eok or back == nil or enc(back) ~= text then
        not_round = not_round or string.format("%q -> %s", s, tostring(text))
      end
    end
  end
  t.is(raises, nil, "decode never raises on 6000 mutated or random inputs")
  t.is(bad_message, nil, "every refusal is one line: NAME:LINE: message")
  t.is(internal, nil, "no input reaches an internal error")
  t.is(not_round, nil, "everything decoded encodes and decodes back to the same text")
  t.ok(accepted > 500 and refused > 500, string.format("both outcomes were exercised (%d accepted, %d refused)",
    accepted, refused))
end

-------------------------------------------------------------------- PyYAML, where installed

local PY = "/usr/bin/python3"

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  return out
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

if not run(PY .. " -c 'import yaml; print(\"have-yaml\")'"):find("have-yaml", 1, true) then
  t.fail("PyYAML importable by " .. PY .. ": it is not; run make deps (installs python3-yaml)")
else
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -m 700 " .. shell_quote(dir)) == 0)
  local script = dir .. "/check.py"
  -- Loads the YAML (every document with "all") and the JSON, says "same" or where they part.
  write_file(script, [[
import json, math, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")))
got = docs if sys.argv[3] == "all" else docs[0]
want = json.load(open(sys.argv[2], encoding="utf-8"))
def first_difference(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            d = first_difference(a.get(k), b.get(k), path + "." + str(k))
            if d: return d
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, path + "[%d]" % i)
            if d: return d
        return None
    if type(a) in (int, float) and type(b) in (int, float) and not isinstance(a, bool) and not isinstance(b, bool):
        return None if a == b else "%s: %r != %r" % (path, a, b)
    return None if type(a) == type(b) and a == b else "%s: %r != %r" % (path, a, b)
d = first_difference(got, want, "$")
print("same" if d is None else d)
]])
  local function pyyaml_reads(value, text, mode)
    write_file(dir .. "/v.yaml", text)
    write_file(dir .. "/v.json", json.encode(value))
    return (run(table.concat({ PY, shell_quote(script), shell_quote(dir .. "/v.yaml"), shell_quote(dir .. "/v.json"),
      mode or "one" }, " ")):gsub("%s+$", ""))
  end

  local strings = json.array()
  for i, s in ipairs(tricky) do strings[i] = s end
  t.is(pyyaml_reads(strings, enc(strings)), "same", "PyYAML reads every tricky string as written")
  local as_keys = {}
  for _, s in ipairs(tricky) do as_keys[s] = s end
  t.is(pyyaml_reads(as_keys, enc(as_keys)), "same", "... as keys too")
  t.is(pyyaml_reads(deployment(), golden), "same", "PyYAML reads the golden Deployment as its JSON")
  local numbers = json.array({ 0, -1, 2 ^ 53, 0.1, 1 / 3, 1e300, 1e-7, -1.5e-7, 2 ^ 60, 5e-324, 1718900000123456 })
  t.is(pyyaml_reads(numbers, enc(numbers)), "same", "PyYAML reads our numbers as numbers of the same value")
  t.is(run(PY .. " -c " .. shell_quote("import yaml, sys; print(yaml.safe_load(sys.argv[1]))") .. " "
    .. shell_quote(enc(json.array({ 0 / 0, math.huge, -math.huge, -0.0 })))):gsub("%s+$", ""),
    "[nan, inf, -inf, -0.0]", "... and NaN, the infinities and -0.0")
  local docs = json.array({ deployment(), { kind = "Service", apiVersion = "v1" }, "text\n" })
  t.is(pyyaml_reads(docs, yaml.encode_documents(docs), "all"), "same", "PyYAML reads encode_documents as the list")
  do
    math.randomseed(777)
    local bytes = {}
    for c = 0, 127 do bytes[#bytes + 1] = string.char(c) end
    for _, u in ipairs({ "\195\169", "\194\133", "\194\160", "\226\128\168", "\239\187\191", "\240\159\152\128" }) do
      bytes[#bytes + 1] = u
    end
    local random = json.array()
    for i = 1, 2000 do
      local parts = {}
      for j = 1, math.random(0, 6) do parts[j] = bytes[math.random(#bytes)] end
      random[i] = table.concat(parts)
    end
    t.is(pyyaml_reads(random, enc(random)), "same", "PyYAML reads 2000 random strings as written")
    local keyed = {}
    for i = 1, #random do keyed[random[i]] = i end
    t.is(pyyaml_reads(keyed, enc(keyed)), "same", "... and as keys")
  end
  -- The other way: what PyYAML makes of the fixture is what we make of it.
  local fixture = here .. "../fixtures/yaml/kubeconfig"
  local theirs = run(PY .. " -c " .. shell_quote("import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))")
    .. " " .. shell_quote(fixture))
  t.is(json.encode(json.decode(theirs), { sorted = true }), json.encode(dec(read_file(fixture)), { sorted = true }),
    "PyYAML and we read the kubeconfig fixture alike")
  os.execute("rm -rf " .. shell_quote(dir))
end
