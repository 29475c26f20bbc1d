#!/usr/bin/python3
"""A loopback fake of the Kubernetes API server, for the tests of `alluse deploy`.

No Kubernetes API server can run where the tests run, so this fake stands in for one.
It is written from the public API documentation, not from Kubernetes' code:

  https://kubernetes.io/docs/reference/using-api/api-concepts/
      paths, collections, resourceVersion, dry-run (dryRun=All), PATCH content types
  https://kubernetes.io/docs/reference/using-api/server-side-apply/
      field management, managedFields, conflicts, force, merge strategy of lists
  https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/
      metadata: uid, resourceVersion, generation, creationTimestamp, managedFields
      (ManagedFieldsEntry and the FieldsV1 "f:", "k:", "v:", "." format)
  https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/
      the Status object of errors (status, message, reason, details, code)
  https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
      label selectors: =, ==, !=, in, notin, exists, !key
  https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/
      field selectors and the fields each kind supports
  https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/lease-v1/
      coordination.k8s.io/v1 Lease
  https://kubernetes.io/docs/reference/access-authn-authz/authentication/
      bearer tokens and X.509 client certificates
  https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status
  https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
      workload and Pod status: conditions, container states, CrashLoopBackOff
  https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md
      status codes, 409 on a stale resourceVersion, the status subresource

usage: k8s_fake.py --port-file FILE [--port N] [--plain]
                   [--cert CRT --key KEY --client-ca CA] [--token TOKEN]
                   [--no-crds] [--auto-ready-ms MS] [--auto-fail NAME=STATE]...
                   [--pod-status-file FILE]
Listens on 127.0.0.1 (port 0: the kernel picks one) and writes the port to FILE once
it accepts connections.  HTTPS with --cert/--key; --plain for plain HTTP (debugging).
tests/integration/k8s_fake.sh makes the certificates and a kubeconfig and starts it.

Authentication: `Authorization: Bearer TOKEN` (--token), or a client certificate signed
by --client-ca (TLS asks for one but does not require it).  Neither: 401 Status.
The /version, /healthz, /readyz, /livez and /_fake/ paths need no credentials.

Resources (group/version plural, * = has a status subresource):
  v1: namespaces* (cluster-scoped), serviceaccounts, configmaps, secrets, services*,
      pods*, events, persistentvolumeclaims*
  apps/v1: deployments*, statefulsets*        batch/v1: jobs*, cronjobs*
  policy/v1: poddisruptionbudgets*            networking.k8s.io/v1: networkpolicies
  rbac.authorization.k8s.io/v1: roles, rolebindings
  coordination.k8s.io/v1: leases
  monitoring.coreos.com/v1: servicemonitors, prometheusrules  (the Prometheus
      operator's CRDs: installed unless --no-crds or POST /_fake/crds)
Discovery: /api, /api/v1, /apis, /apis/GROUP, /apis/GROUP/VERSION, /version.
Namespaces "default", "kube-system" and "kube-public" exist from the start; a namespaced
object can only be written into a namespace that exists (404 otherwise).

Verbs: GET (object or collection: labelSelector, fieldSelector), POST (create), PUT
(replace; a stale metadata.resourceVersion is 409 Conflict; no resourceVersion means an
unconditional update), PATCH with application/apply-patch+yaml (server-side apply: JSON
or YAML body; fieldManager required, force=true), application/merge-patch+json (a
metadata.resourceVersion in the patch is a precondition), DELETE (object: body
DeleteOptions with preconditions and propagationPolicy; or a collection with a
labelSelector).  dryRun=All on POST, PUT, PATCH and DELETE: the answer without the write.
.../NAME/status (GET, PUT, PATCH) for the kinds marked *; writes to the object itself
leave its status alone, writes to /status change only the status.
GET .../pods/NAME/log (the text a rollout control gave it) and
GET .../pods/NAME[:PORT]/proxy/PATH (see "pod proxy" below).
Server-side apply tracks one field set per (manager, operation, subresource) in
metadata.managedFields, FieldsV1 format.  Lists are associative (by key) where Kubernetes
declares them so: containers, initContainers, ephemeralContainers, env, volumes,
imagePullSecrets (name), volumeMounts (mountPath), container ports (containerPort +
protocol, TCP by default), Service ports (port + protocol), conditions (type),
hostAliases (ip), topologySpreadConstraints (topologyKey + whenUnsatisfiable),
ownerReferences (uid); metadata.finalizers is a set; every other list is atomic (and so
is every list of the CRD kinds).  Maps and structs are granular.
An apply sets the fields it lists, removes those the same manager applied before and no
longer lists (unless another manager owns them too), and fails 409 Conflict (causes of
type FieldManagerConflict) when it sets a field another manager owns to another value,
unless force=true, which moves the ownership.  PUT, merge patches and creates record
operation "Update" for the fields whose values they changed (fieldManager, else the
User-Agent's product name).  A write that changes nothing is not a write (resourceVersion
stays).  resourceVersion is one counter for the whole store, bumped on every write;
metadata.generation starts at 1 and grows when anything outside metadata and status
changes; uid and creationTimestamp are set on create.  Secrets: stringData is folded into
data (base64) on every write.

Control endpoints, for tests (JSON in and out, no credentials, not in the request log):
  GET  /_fake/log[?bodies=1]  {"requests": [{"seq","method","path","query","contentType",
                              "fieldManager","dryRun","force","auth","userAgent","code"
                              [,"body"]}]}: every API request so far, in order
  DELETE /_fake/log           forget them
  POST /_fake/rollout {"namespace","kind":"Deployment"|"StatefulSet","name",
        "state":"ready"|"progressing"|"crashloop"|"imagepull"|"deadline",
        "restarts":N, "container":NAME, "replicas":N, "podIP":IP, "log":TEXT,
        "annotations":{...}}
        drives the workload's status the way its controller and the kubelet would,
        replaces its Pods (Running+Ready; Running, not ready, CrashLoopBackOff with
        restartCount and lastState.terminated; Pending with ImagePullBackOff; ...) and
        adds Events for them.  "deadline" is crashloop plus Progressing=False,
        reason ProgressDeadlineExceeded.  Answers the workload.
  POST /_fake/job {"namespace","name","state":"succeeded"|"failed"|"running","log":TEXT}
        Job status (conditions Complete / Failed, succeeded / failed counts), its Pod,
        Events.
  POST /_fake/auto {"delayMs":N|null, "fail":{"NAME"|"NS/NAME"|"Kind/NS/NAME"|"image=REF": STATE}}
        auto mode: N ms after each write that creates a Deployment, StatefulSet or Job
        or changes its generation, it becomes ready (a Job: succeeded), or takes the
        STATE given for its name.  null turns auto mode off.  (--auto-ready-ms,
        --auto-fail NAME=STATE at start.)  Due transitions happen when the next request
        arrives, so a client that polls sees them on time.
  POST /_fake/crds {"installed":bool}   the monitoring.coreos.com group present or not
                              (absent: 404 "page not found" under it, not in /apis)
  POST /_fake/inject {"method","path" (a regular expression, searched),"code",
        "reason","message","times":N}   the next N matching API requests fail so
  POST /_fake/pod-proxy {"namespace","pod" ("*": any),"code","body"}  a canned answer
        for GET .../pods/POD/proxy/...
  POST /_fake/reset           an empty store (the three namespaces), log, injections,
                              canned answers and auto mode off (--auto-* options stay
                              off too)
  GET  /_fake/state           {"resourceVersion", "objects": ["group/version/plural/ns/name"]}

Pod proxy: alluse deploy's guard rails ask each alluse pod's own /api/v1/status; through
an API server that is GET /api/v1/namespaces/NS/pods/NAME:PORT/proxy/api/v1/status.
The fake answers it with, in order: a canned answer (POST /_fake/pod-proxy); the entry
for "NS/NAME" or "*" of the JSON object in --pod-status-file (read on each request, so a
test can rewrite it); or, when the pod has the annotation
`k8s-fake.alluse.dev/proxy-url: http://127.0.0.1:PORT`, what that URL + PATH answers
(so a test can run a small HTTP stub, or a real `alluse run`, and point a pod at it with
POST /_fake/rollout {"annotations": {...}}); else 503 Status.

What it does not do: watch (400), pagination (limit/continue are ignored: one page),
protobuf, strategic merge patch and JSON patch (415), admission and most validation
(names are checked as DNS subdomains; nothing else of an object's schema), defaulting
beyond a few fields (Deployment/StatefulSet spec.replicas, Service clusterIP and type,
the Namespace name label and phase), controllers (nothing happens to workloads unless a
test drives it or auto mode is on; no ReplicaSets, ControllerRevisions or Endpoints),
graceful deletion and finalizers (DELETE removes at once; deleting a namespace removes
what is in it; deleting a workload removes the Pods the fake made for it unless
propagationPolicy=Orphan), RBAC (every authenticated request is allowed), CRDs other
than the two, ClusterRoles, managedFields written by clients (ignored), and the
"Apply" conflict rules for the status subresource beyond the generic ones.
"""
import argparse
import base64
import copy
import datetime
import hashlib
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

try:
    if os.environ.get("K8S_FAKE_NO_PYYAML"):
        raise ImportError
    import yaml as _yaml
except ImportError:
    _yaml = None

# ---------------------------------------------------------------------------------------
# Resource types

STANDARD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]


class RType:
    def __init__(self, group, version, plural, kind, namespaced, status, short=(), crd=False):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced, self.status, self.short, self.crd = namespaced, status, list(short), crd
        self.api_version = version if not group else group + "/" + version
        self.singular = kind.lower()

    def qualified(self):  # "deployments.apps", "configmaps"
        return self.plural + ("." + self.group if self.group else "")


TYPES = [
    RType("", "v1", "namespaces", "Namespace", False, True, ["ns"]),
    RType("", "v1", "serviceaccounts", "ServiceAccount", True, False, ["sa"]),
    RType("", "v1", "configmaps", "ConfigMap", True, False, ["cm"]),
    RType("", "v1", "secrets", "Secret", True, False),
    RType("", "v1", "services", "Service", True, True, ["svc"]),
    RType("", "v1", "pods", "Pod", True, True, ["po"]),
    RType("", "v1", "events", "Event", True, False, ["ev"]),
    RType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, True, ["pvc"]),
    RType("apps", "v1", "deployments", "Deployment", True, True, ["deploy"]),
    RType("apps", "v1", "statefulsets", "StatefulSet", True, True, ["sts"]),
    RType("batch", "v1", "jobs", "Job", True, True),
    RType("batch", "v1", "cronjobs", "CronJob", True, True, ["cj"]),
    RType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, True, ["pdb"]),
    RType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, False, ["netpol"]),
    RType("rbac.authorization.k8s.io", "v1", "roles", "Role", True, False),
    RType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, False),
    RType("coordination.k8s.io", "v1", "leases", "Lease", True, False),
    RType("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", True, False, ["smon"], crd=True),
    RType("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", True, False, ["promrule"], crd=True),
]
BY_PLURAL = {(t.group, t.version, t.plural): t for t in TYPES}
CRD_GROUP = "monitoring.coreos.com"
# DELETE answers the deleted object for these (the others answer a Status of Success).
DELETE_RETURNS_OBJECT = {"namespaces", "pods", "persistentvolumeclaims", "serviceaccounts", "services"}
# Field selectors each kind supports besides metadata.name and metadata.namespace.
FIELD_LABELS = {
    "pods": ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
    "events": ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
    "secrets": ["type"],
    "namespaces": ["status.phase"],
    "jobs": ["status.successful"],
}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")

# ---------------------------------------------------------------------------------------
# Errors: the Status object


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            s["details"] = self.details
        return s


def not_found(rt, name):
    d = {"name": name, "kind": rt.plural}
    if rt.group:
        d["group"] = rt.group
    return ApiError(404, "NotFound", '%s "%s" not found' % (rt.qualified(), name), d)


def already_exists(rt, name):
    d = {"name": name, "kind": rt.plural}
    if rt.group:
        d["group"] = rt.group
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (rt.qualified(), name), d)


def stale(rt, name):
    d = {"name": name, "kind": rt.plural}
    if rt.group:
        d["group"] = rt.group
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                    "modified; please apply your changes to the latest version and try again"
                    % (rt.qualified(), name), d)


def invalid(rt, name, field, why, value=None):
    shown = "" if value is None else "Invalid value: %s: " % json.dumps(value)
    cause_type = "FieldValueInvalid" if value is not None else "FieldValueRequired"
    msg = '%s "%s" is invalid: %s: %s%s' % (rt.kind, name, field, shown, why)
    d = {"name": name, "kind": rt.kind, "causes": [{"reason": cause_type, "message": shown + why, "field": field}]}
    if rt.group:
        d["group"] = rt.group
    return ApiError(422, "Invalid", msg, d)


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


NOT_FOUND_PAGE = object()  # a plain-text 404, as the real server's mux answers unknown paths

# ---------------------------------------------------------------------------------------
# Small helpers


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_hash(*parts, n=10, alphabet="0123456789abcdef"):
    h = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in h[:n])


DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------------------
# A small YAML reader, for apply bodies when PyYAML is not installed.  It reads the block
# style manifests are written in: mappings, sequences ("- "), plain, single- and
# double-quoted scalars, "|" and ">" blocks, comments, "---", flow [] and {} that are
# also JSON.  Anything else is a 400.


class YamlError(Exception):
    pass


def _yaml_scalar(s):
    s = s.strip()
    if s == "" or s in ("~", "null", "Null", "NULL"):
        return None
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if s[0] == '"':
        try:
            return json.loads(s)
        except ValueError:
            raise YamlError("bad double-quoted scalar: " + s)
    if s[0] == "'":
        if len(s) < 2 or s[-1] != "'":
            raise YamlError("bad single-quoted scalar: " + s)
        return s[1:-1].replace("''", "'")
    if s[0] in "[{":
        try:
            return json.loads(s)
        except ValueError:
            raise YamlError("flow collections must be JSON here: " + s)
    if re.match(r"^[-+]?[0-9]+$", s):
        return int(s)
    if re.match(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$", s):
        return float(s)
    return s


def _strip_comment(s):
    # A " #" outside quotes starts a comment.
    q = None
    for i, c in enumerate(s):
        if q:
            if c == q:
                q = None
        elif c in "'\"" and (i == 0 or s[i - 1] in " :-[{,"):
            q = c
        elif c == "#" and (i == 0 or s[i - 1] in " \t"):
            return s[:i].rstrip()
    return s.rstrip()


def yaml_load(text):
    lines = []
    raw = text.splitlines()
    for n, line in enumerate(raw):
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise YamlError("tab in indentation, line %d" % (n + 1))
        lines.append(line)
    docs = [i for i, l in enumerate(lines) if l.strip() == "---"]
    if len(docs) > 1 or (docs and any(l.strip() and not l.lstrip().startswith("#") for l in lines[: docs[0]])):
        raise YamlError("one document per request")
    if docs:
        lines = lines[docs[0] + 1:]
    pos = [0]

    def indent(l):
        return len(l) - len(l.lstrip(" "))

    def next_content():
        while pos[0] < len(lines):
            s = _strip_comment(lines[pos[0]])
            if s.strip():
                return pos[0]
            pos[0] += 1
        return None

    def block_scalar(style, parent_indent):
        out = []
        ind = None
        while pos[0] < len(lines):
            l = lines[pos[0]]
            if l.strip() == "":
                out.append("")
                pos[0] += 1
                continue
            if indent(l) <= parent_indent:
                break
            if ind is None:
                ind = indent(l)
            if indent(l) < ind:
                break
            out.append(l[ind:])
            pos[0] += 1
        keep = style[1:] if len(style) > 1 else ""
        while out and out[-1] == "" and keep != "+":
            out.pop()
        if style[0] == "|":
            s = "\n".join(out)
        else:
            s = ""
            for part in out:
                s += ("\n" if part == "" else ((" " if s and not s.endswith("\n") else "") + part))
        if keep != "-" and out:
            s += "\n"
        return s

    def value_after(rest, my_indent):
        rest = rest.strip()
        if rest in ("|", "|-", "|+", ">", ">-", ">+"):
            pos[0] += 1
            return block_scalar(rest, my_indent)
        if rest == "":
            pos[0] += 1
            i = next_content()
            if i is None:
                return None
            l = lines[i]
            if indent(l) > my_indent or (indent(l) == my_indent and l.lstrip().startswith("- ")) \
                    or (indent(l) == my_indent and l.strip() == "-"):
                return node(indent(l))
            return None
        pos[0] += 1
        return _yaml_scalar(rest)

    def split_key(s):
        # "key: value" -> (key, value); the key may be quoted.
        if s[0] in "'\"":
            q = s[0]
            j = s.find(q, 1)
            while q == "'" and j != -1 and s[j + 1:j + 2] == "'":
                j = s.find(q, j + 2)
            if j == -1:
                raise YamlError("unterminated quoted key: " + s)
            key = _yaml_scalar(s[: j + 1])
            rest = s[j + 1:]
            if not rest.startswith(":"):
                raise YamlError("expected ':' after key: " + s)
            return str(key), rest[1:]
        m = re.match(r"^([^:#]+?|[^:#]*?:[^ ][^:#]*?):( |$)(.*)$", s)
        if not m:
            return None
        return m.group(1), m.group(3)

    def node(ind):
        i = next_content()
        if i is None:
            return None
        l = _strip_comment(lines[i])
        s = l.strip()
        if s.startswith("- ") or s == "-":
            seq = []
            while True:
                i = next_content()
                if i is None:
                    break
                l = _strip_comment(lines[i])
                if indent(l) != ind or not (l.strip().startswith("- ") or l.strip() == "-"):
                    if indent(l) > ind:
                        raise YamlError("bad indentation, line %d" % (i + 1))
                    break
                body = l.strip()[1:]
                if body.strip() == "":
                    seq.append(value_after("", ind))
                    continue
                inner = ind + 2 + (len(body) - len(body.lstrip(" ")) - 1)
                kv = split_key(body.strip()) if body.strip()[0] not in "[{" else None
                if kv is not None:
                    # a mapping starting on the dash's line: rewrite the line as its first key
                    lines[i] = " " * inner + body.strip()
                    seq.append(node(inner))
                else:
                    seq.append(value_after(body, ind))
            return seq
        if split_key(s) is not None:
            m = {}
            while True:
                i = next_content()
                if i is None:
                    break
                l = _strip_comment(lines[i])
                if indent(l) != ind:
                    if indent(l) > ind:
                        raise YamlError("bad indentation, line %d" % (i + 1))
                    break
                kv = split_key(l.strip())
                if kv is None:
                    break
                k, rest = kv
                if k in m:
                    raise YamlError('duplicate key "%s", line %d' % (k, i + 1))
                m[k] = value_after(rest, ind)
            return m
        # a lone scalar
        pos[0] += 1
        return _yaml_scalar(s)

    i = next_content()
    if i is None:
        return None
    v = node(indent(lines[i]))
    if next_content() is not None:
        raise YamlError("cannot parse line %d: %s" % (pos[0] + 1, lines[pos[0]].strip()))
    return v


def parse_body(raw, allow_yaml):
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError as e:
        if not allow_yaml:
            raise bad_request("the body is not valid JSON: %s" % e)
    try:
        if _yaml is not None:
            return _yaml.safe_load(text)
        return yaml_load(text)
    except Exception as e:  # noqa: BLE001 - any parse failure is the client's
        raise bad_request("error converting YAML to JSON: %s" % e)


# ---------------------------------------------------------------------------------------
# Field sets: paths of ("f", name) | ("k", key-json) | ("v", value-json)

ASSOC_KEYS = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "imagePullSecrets": ("name",),
    "volumeMounts": ("mountPath",), "volumeDevices": ("devicePath",), "conditions": ("type",),
    "hostAliases": ("ip",), "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
}
KEY_DEFAULTS = {"protocol": "TCP"}


def list_type(names, rt):
    """("map", keys) | ("set",) | ("atomic",) for the list at field path `names`."""
    if names == ("metadata", "finalizers"):
        return ("set",)
    if names == ("metadata", "ownerReferences"):
        return ("map", ("uid",))
    if rt.crd:
        return ("atomic",)
    last = names[-1]
    if last == "ports":
        if len(names) >= 2 and names[-2] in ("containers", "initContainers", "ephemeralContainers"):
            return ("map", ("containerPort", "protocol"))
        if rt.kind == "Service" and names == ("spec", "ports"):
            return ("map", ("port", "protocol"))
        return ("atomic",)
    if last in ASSOC_KEYS:
        return ("map", ASSOC_KEYS[last])
    return ("atomic",)


class FieldError(Exception):
    pass


def item_key(item, keys, where):
    if not isinstance(item, dict):
        raise FieldError("%s: associative list with keys has an element that is not a map" % where)
    k = {}
    for f in keys:
        if f in item:
            k[f] = item[f]
        elif f in KEY_DEFAULTS:
            k[f] = KEY_DEFAULTS[f]
        else:
            raise FieldError('%s: associative list with keys has an element that omits key field "%s"' % (where, f))
    return canon(k)


TOP_EXCLUDED = {"apiVersion", "kind"}
META_EXCLUDED = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                 "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}


def scoped(obj, rt, sub):
    """The part of obj whose fields a write to (sub)resource may own."""
    if sub == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    out = {}
    for k, v in obj.items():
        if k in TOP_EXCLUDED or (k == "status" and rt.status):
            continue
        if k == "metadata" and isinstance(v, dict):
            v = {mk: mv for mk, mv in v.items() if mk not in META_EXCLUDED}
            if not v:
                continue
        out[k] = v
    return out


def fieldset(obj, rt):
    out = set()

    def walk_map(d, names, path):
        for k, v in d.items():
            walk(v, names + (k,), path + (("f", k),))

    def walk(v, names, path):
        if isinstance(v, dict):
            if v:
                walk_map(v, names, path)
            else:
                out.add(path)
        elif isinstance(v, list):
            lt = list_type(names, rt)
            if lt[0] == "map":
                seen = set()
                for item in v:
                    kj = item_key(item, lt[1], "." + ".".join(names))
                    if kj in seen:
                        raise FieldError(".%s: duplicate entries for key %s" % (".".join(names), kj))
                    seen.add(kj)
                    p = path + (("k", kj),)
                    out.add(p)
                    walk_map(item, names, p)
            elif lt[0] == "set":
                for item in v:
                    out.add(path + (("v", canon(item)),))
            else:
                out.add(path)
        else:
            out.add(path)

    walk_map(obj, (), ())
    return out


def names_of(path):
    return tuple(e[1] for e in path if e[0] == "f")


def get_at(obj, path, rt):
    """(found, value) at path."""
    cur = obj
    for i, (t, v) in enumerate(path):
        if t == "f":
            if not isinstance(cur, dict) or v not in cur:
                return False, None
            cur = cur[v]
        else:
            if not isinstance(cur, list):
                return False, None
            lt = list_type(names_of(path[:i]), rt)
            for item in cur:
                try:
                    match = (item_key(item, lt[1], "") == v) if t == "k" and lt[0] == "map" else (canon(item) == v)
                except FieldError:
                    match = False
                if match:
                    cur = item
                    break
            else:
                return False, None
    return True, cur


def remove_at(obj, path, rt):
    """Remove the field at path; returns True when something was removed."""
    found, parent = get_at(obj, path[:-1], rt)
    if not found:
        return False
    t, v = path[-1]
    if t == "f":
        if isinstance(parent, dict) and v in parent:
            del parent[v]
            return True
        return False
    if not isinstance(parent, list):
        return False
    lt = list_type(names_of(path[:-1]), rt)
    for i, item in enumerate(parent):
        try:
            match = (item_key(item, lt[1], "") == v) if t == "k" and lt[0] == "map" else (canon(item) == v)
        except FieldError:
            match = False
        if match:
            del parent[i]
            return True
    return False


def path_string(path):
    """.spec.template.spec.containers[name="app"].image"""
    s = ""
    for t, v in path:
        if t == "f":
            s += "." + v
        elif t == "k":
            s += "[" + ",".join("%s=%s" % (k, json.dumps(x)) for k, x in json.loads(v).items()) + "]"
        else:
            s += "[=" + v + "]"
    return s


def fields_v1(paths):
    """The FieldsV1 form of a field set: a trie of "f:NAME", "k:KEY", "v:VALUE" keys; a member
    that also has members below it carries ".": {}."""
    tree, members = {}, set()
    for p in paths:
        node = tree
        for t, v in p:
            node = node.setdefault(t + ":" + v, {})
        members.add(id(node))

    def out(node):
        d = {".": {}} if node and id(node) in members else {}
        d.update((k, out(sub)) for k, sub in sorted(node.items()))
        return d
    return out(tree)


def merge_applied(live, applied, names, rt):
    """Merge an applied configuration into live (both maps), per the list types."""
    for k, av in applied.items():
        n = names + (k,)
        lv = live.get(k)
        if isinstance(av, dict):
            if isinstance(lv, dict):
                merge_applied(lv, av, n, rt)
            else:
                live[k] = copy.deepcopy(av)
        elif isinstance(av, list):
            lt = list_type(n, rt)
            if lt[0] == "map" and isinstance(lv, list):
                index = {}
                for i, item in enumerate(lv):
                    try:
                        index[item_key(item, lt[1], "")] = i
                    except FieldError:
                        pass
                for item in av:
                    kj = item_key(item, lt[1], "")
                    if kj in index:
                        merge_applied(lv[index[kj]], item, n, rt)
                    else:
                        lv.append(copy.deepcopy(item))
                        index[kj] = len(lv) - 1
            elif lt[0] == "set" and isinstance(lv, list):
                have = {canon(x) for x in lv}
                for item in av:
                    if canon(item) not in have:
                        lv.append(copy.deepcopy(item))
                        have.add(canon(item))
            else:
                live[k] = copy.deepcopy(av)
        else:
            live[k] = copy.deepcopy(av)


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---------------------------------------------------------------------------------------
# Selectors

class LabelSelector:
    TOKEN = re.compile(r"\s*(\(|\)|,|!=|==|=|!|<|>|[^\s(),!=<>]+)")

    def __init__(self, text):
        self.reqs = []
        text = text or ""
        toks = []
        pos = 0
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if not m:
                if text[pos:].strip() == "":
                    break
                raise bad_request("unable to parse requirement: invalid label selector: %s" % text)
            toks.append(m.group(1))
            pos = m.end()
        i = 0

        def err(why):
            return bad_request("unable to parse requirement: %s in label selector %r" % (why, text))

        while i < len(toks):
            if toks[i] == ",":
                raise err("empty requirement")
            if toks[i] == "!":
                if i + 1 >= len(toks) or not self.word(toks[i + 1]):
                    raise err("expected a key after '!'")
                self.reqs.append((toks[i + 1], "!", None))
                i += 2
            else:
                key = toks[i]
                if not self.word(key):
                    raise err("expected a key, found %r" % key)
                i += 1
                if i >= len(toks) or toks[i] == ",":
                    self.reqs.append((key, "exists", None))
                elif toks[i] in ("=", "==", "!=", "<", ">"):
                    op = toks[i]
                    i += 1
                    val = ""
                    if i < len(toks) and self.word(toks[i]):
                        val = toks[i]
                        i += 1
                    if op in "<>" and not re.match(r"^-?[0-9]+$", val):
                        raise err("for 'Gt', 'Lt' operators, the value must be an integer")
                    self.reqs.append((key, {"==": "="}.get(op, op), val))
                elif toks[i] in ("in", "notin"):
                    op = toks[i]
                    i += 1
                    if i >= len(toks) or toks[i] != "(":
                        raise err("found %r, expected: '('" % (toks[i] if i < len(toks) else ""))
                    i += 1
                    vals = set()
                    while True:
                        if i < len(toks) and self.word(toks[i]):
                            vals.add(toks[i])
                            i += 1
                        if i < len(toks) and toks[i] == ",":
                            i += 1
                            continue
                        if i < len(toks) and toks[i] == ")":
                            i += 1
                            break
                        raise err("expected ',' or ')'")
                    self.reqs.append((key, op, vals))
                else:
                    raise err("found %r, expected: in, notin, =, ==, !=, gt, lt" % toks[i])
            if i < len(toks):
                if toks[i] != ",":
                    raise err("found %r, expected: ','" % toks[i])
                i += 1
                if i >= len(toks):
                    raise err("trailing ','")

    @staticmethod
    def word(t):
        return t not in ("(", ")", ",", "!=", "==", "=", "!", "<", ">")

    def matches(self, labels):
        labels = labels or {}
        for key, op, val in self.reqs:
            have = key in labels
            v = labels.get(key)
            if op == "exists" and not have:
                return False
            if op == "!" and have:
                return False
            if op == "=" and v != val:
                return False
            if op == "!=" and have and v == val:
                return False
            if op == "in" and (not have or v not in val):
                return False
            if op == "notin" and have and v in val:
                return False
            if op in "<>":
                try:
                    n = int(v)
                except (TypeError, ValueError):
                    return False
                if (op == "<" and not n < int(val)) or (op == ">" and not n > int(val)):
                    return False
        return True


def field_selector(text, rt):
    reqs = []
    allowed = ["metadata.name", "metadata.namespace"] + FIELD_LABELS.get(rt.plural, [])
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$", part)
        if not m:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, part))
        field, op, val = m.group(1), m.group(2), m.group(3)
        if field not in allowed:
            raise bad_request('"%s" is not a known field selector: only %s'
                              % (field, ", ".join('"%s"' % a for a in allowed)))
        reqs.append((field, op != "!=", val))

    def value(obj, field):
        if field == "source" and rt.plural == "events":
            field = "source.component"
        cur = obj
        for part in field.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is None:
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)

    return lambda obj: all((value(obj, f) == v) == eq for f, eq, v in reqs)


# ---------------------------------------------------------------------------------------
# The store


class Entry:
    def __init__(self, obj):
        self.obj = obj
        self.managers = []  # {"manager","operation","subresource","apiVersion","time","fields":set}


class Fake:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.RLock()
        self.reset(keep_auto=True)

    def reset(self, keep_auto=False):
        self.store = {}
        self.rv = 0
        self.log = []
        self.seq = 0
        self.injections = []
        self.canned = {}
        self.pod_owner = {}   # pod key -> workload key
        self.pod_logs = {}    # pod key -> text
        self.pending = []     # [(due, key)]
        self.crds = not self.opts.no_crds
        self.auto_ms = self.opts.auto_ready_ms if keep_auto else None
        self.auto_fail = dict(self.opts.auto_fail_map) if keep_auto else {}
        for ns in ("default", "kube-system", "kube-public"):
            self.internal_create(BY_PLURAL[("", "v1", "namespaces")], None,
                                 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    # -- keys and lookups ---------------------------------------------------------------
    @staticmethod
    def key(rt, ns, name):
        return (rt.group, rt.version, rt.plural, ns or "", name)

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def items(self, rt, ns):
        for k, e in self.store.items():
            if k[:3] == (rt.group, rt.version, rt.plural) and (ns is None or k[3] == ns):
                yield e

    def ns_exists(self, ns):
        return self.key(BY_PLURAL[("", "v1", "namespaces")], None, ns) in self.store

    def render(self, e):
        """The object as the API shows it (with managedFields)."""
        o = copy.deepcopy(e.obj)
        mf = []
        for m in e.managers:
            if not m["fields"]:
                continue
            d = {"manager": m["manager"], "operation": m["operation"], "apiVersion": m["apiVersion"],
                 "time": m["time"], "fieldsType": "FieldsV1", "fieldsV1": fields_v1(m["fields"])}
            if m["subresource"]:
                d["subresource"] = m["subresource"]
            mf.append(d)
        if mf:
            o.setdefault("metadata", {})["managedFields"] = mf
        return o

    # -- writes ---------------------------------------------------------------------------
    def defaults(self, rt, obj):
        md = obj.setdefault("metadata", {})
        if rt.kind == "Namespace":
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md.get("name", "")
            obj.setdefault("status", {}).setdefault("phase", "Active")
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if rt.kind in ("Deployment", "StatefulSet") and isinstance(obj.get("spec"), dict):
            obj["spec"].setdefault("replicas", 1)
        if rt.kind == "Service" and isinstance(obj.get("spec"), dict):
            spec = obj["spec"]
            spec.setdefault("type", "ClusterIP")
            if spec.get("clusterIP") is None:
                h = hashlib.sha256(("%s/%s" % (md.get("namespace"), md.get("name"))).encode()).digest()
                spec["clusterIP"] = "10.96.%d.%d" % (h[0], h[1] % 254 + 1)
        if rt.kind == "Secret":
            sd = obj.pop("stringData", None)
            if isinstance(sd, dict):
                data = obj.setdefault("data", {})
                for k, v in sd.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
            obj.setdefault("type", "Opaque")

    def validate(self, rt, obj, name):
        md = obj.get("metadata")
        if not isinstance(md, dict):
            raise invalid(rt, name or "", "metadata.name", "name or generateName is required")
        n = md.get("name")
        if not n:
            raise invalid(rt, "", "metadata.name", "name or generateName is required")
        if not isinstance(n, str) or len(n) > 253 or not DNS_SUBDOMAIN.match(n):
            raise invalid(rt, str(n), "metadata.name",
                          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                          "'-' or '.', and must start and end with an alphanumeric character", n)
        if rt.kind == "Namespace" and "." in n:
            raise invalid(rt, n, "metadata.name", "a lowercase RFC 1123 label must not contain dots", n)
        for f in ("labels", "annotations"):
            v = md.get(f)
            if v is not None and (not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values())):
                raise invalid(rt, n, "metadata." + f, "must be a map of strings", v)

    def commit(self, rt, key, old, new, managers, dry):
        """Store new (old None: a create).  Returns (entry, changed)."""
        if old is not None:
            same_obj = canon(old.obj) == canon(new)
            same_mf = [(m["manager"], m["operation"], m["subresource"], sorted(m["fields"])) for m in old.managers] == \
                      [(m["manager"], m["operation"], m["subresource"], sorted(m["fields"])) for m in managers]
            if same_obj and same_mf:
                return old, False
            old_spec = {k: v for k, v in old.obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
            new_spec = {k: v for k, v in new.items() if k not in ("metadata", "status", "apiVersion", "kind")}
            if canon(old_spec) != canon(new_spec):
                new["metadata"]["generation"] = int(old.obj["metadata"].get("generation", 1)) + 1
        e = Entry(new)
        e.managers = managers
        if dry:
            new["metadata"]["resourceVersion"] = old.obj["metadata"]["resourceVersion"] if old else ""
            return e, True
        new["metadata"]["resourceVersion"] = self.next_rv()
        self.store[key] = e
        gen_changed = old is None or new["metadata"].get("generation") != old.obj["metadata"].get("generation")
        if rt.kind in WORKLOAD_KINDS and gen_changed and self.auto_ms is not None:
            self.pending.append((time.monotonic() + self.auto_ms / 1000.0, key))
        return e, True

    def new_meta(self, rt, obj, ns):
        md = obj["metadata"]
        if rt.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_rfc3339()
        md["generation"] = 1
        for f in ("resourceVersion", "managedFields", "selfLink", "deletionTimestamp"):
            md.pop(f, None)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind

    def update_managers(self, rt, old_obj, new_obj, managers, manager, operation, sub, fields=None):
        """Ownership after a write: operation Update takes the fields whose values changed;
        an Apply's fields are given.  Every set is then cut to the fields that exist."""
        managers = [dict(m, fields=set(m["fields"])) for m in managers]
        new_all = fieldset(scoped(new_obj, rt, ""), rt)
        if rt.status:
            new_all |= fieldset(scoped(new_obj, rt, "status"), rt)
        if fields is None:
            mine = fieldset(scoped(new_obj, rt, sub), rt)
            changed = set()
            for p in mine:
                f_old, v_old = get_at(old_obj, p, rt) if old_obj is not None else (False, None)
                if not f_old:
                    changed.add(p)
                elif p[-1][0] != "k" and canon(v_old) != canon(get_at(new_obj, p, rt)[1]):
                    changed.add(p)
            for m in managers:
                m["fields"] -= changed
            fields = changed
            merge_into = True
        else:
            merge_into = False
        ident = (manager, operation, sub)
        for m in managers:
            if (m["manager"], m["operation"], m["subresource"]) == ident:
                if merge_into:
                    m["fields"] |= fields
                else:
                    m["fields"] = set(fields)
                if fields:
                    m["time"] = now_rfc3339()
                break
        else:
            if fields:
                managers.append({"manager": manager, "operation": operation, "subresource": sub,
                                 "apiVersion": rt.api_version, "time": now_rfc3339(), "fields": set(fields)})
        for m in managers:
            m["fields"] &= new_all
        return [m for m in managers if m["fields"]]

    def internal_create(self, rt, ns, obj, manager="kube-controller-manager"):
        obj = copy.deepcopy(obj)
        self.new_meta(rt, obj, ns)
        self.defaults(rt, obj)
        managers = self.update_managers(rt, None, obj, [], manager, "Update", "")
        key = self.key(rt, ns, obj["metadata"]["name"])
        e, _ = self.commit(rt, key, None, obj, managers, False)
        return e

    def internal_status(self, rt, key, status, manager="kube-controller-manager"):
        e = self.store.get(key)
        if e is None:
            return None
        new = copy.deepcopy(e.obj)
        new["status"] = status
        managers = self.update_managers(rt, e.obj, new, e.managers, manager, "Update", "status")
        e2, _ = self.commit(rt, key, e, new, managers, False)
        return e2

    def delete_key(self, key, orphan=False):
        e = self.store.pop(key, None)
        if e is None:
            return
        if key[2] == "namespaces":
            for k in [k for k in self.store if k[3] == key[4] and k[2] != "namespaces"]:
                self.store.pop(k, None)
        if not orphan:
            for pk in [pk for pk, wk in self.pod_owner.items() if wk == key]:
                self.store.pop(pk, None)
                self.pod_owner.pop(pk, None)
        self.pending = [(d, k) for d, k in self.pending if k != key]

    # -- auto mode --------------------------------------------------------------------------
    def tick(self):
        if not self.pending:
            return
        nowm = time.monotonic()
        due = [(d, k) for d, k in self.pending if d <= nowm]
        self.pending = [(d, k) for d, k in self.pending if d > nowm]
        for _, key in sorted(due):
            e = self.store.get(key)
            if e is None:
                continue
            kind, ns, name = e.obj["kind"], key[3], key[4]
            state = None
            for probe in (name, ns + "/" + name, kind + "/" + ns + "/" + name):
                state = self.auto_fail.get(probe, state)
            # "image=REF": any workload whose pods run that image (a bad release that a
            # rollback to the previous image cures)
            spec = (e.obj.get("spec") or {})
            pod_spec = ((spec.get("template") or {}).get("spec") or {})
            for c in pod_spec.get("containers") or [] if kind != "Job" else []:
                state = self.auto_fail.get("image=" + str(c.get("image")), state)
            try:
                if kind == "Job":
                    self.drive_job({"namespace": ns, "name": name, "state": state or "succeeded"})
                else:
                    self.drive_rollout({"namespace": ns, "kind": kind, "name": name, "state": state or "ready"})
            except ApiError as err:
                sys.stderr.write("k8s_fake: auto mode: %s\n" % err.message)

    # -- status driving -------------------------------------------------------------------
    def event(self, ns, involved, reason, message, etype="Normal", component="kubelet", count=1):
        t = now_rfc3339()
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "%s.%s" % (involved["name"], short_hash(involved, reason, message, self.rv, n=16))},
              "involvedObject": involved, "reason": reason, "message": message, "type": etype,
              "source": {"component": component, "host": "fake-node"} if component == "kubelet" else {"component": component},
              "firstTimestamp": t, "lastTimestamp": t, "count": count, "eventTime": None,
              "reportingComponent": component, "reportingInstance": "fake-node" if component == "kubelet" else ""}
        self.internal_create(BY_PLURAL[("", "v1", "events")], ns, ev, manager=component)

    def workload(self, spec, kinds):
        kind = spec.get("kind", "Job" if kinds == ("Job",) else None)
        if kind not in kinds:
            raise bad_request("kind must be one of %s" % ", ".join(kinds))
        rt = next(t for t in TYPES if t.kind == kind)
        ns, name = spec.get("namespace") or "default", spec.get("name")
        key = self.key(rt, ns, name)
        e = self.store.get(key)
        if e is None:
            raise not_found(rt, name or "")
        return rt, key, e

    def replace_pods(self, wkey):
        for pk in [pk for pk, wk in self.pod_owner.items() if wk == wkey]:
            self.store.pop(pk, None)
            self.pod_owner.pop(pk, None)
            self.pod_logs.pop(pk, None)

    def make_pod(self, wkey, ns, name, template, labels, owner, phase, cstatuses, ready, spec_ctl, extra_status=None):
        prt = BY_PLURAL[("", "v1", "pods")]
        tmeta = template.get("metadata") or {}
        ann = dict(tmeta.get("annotations") or {})
        ann.update(spec_ctl.get("annotations") or {})
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "labels": dict(tmeta.get("labels") or {}, **labels),
                            "ownerReferences": [owner]},
               "spec": dict(copy.deepcopy(template.get("spec") or {}), nodeName="fake-node")}
        if ann:
            pod["metadata"]["annotations"] = ann
        e = self.internal_create(prt, ns, pod)
        t = now_rfc3339()
        cond = "True" if ready else "False"
        status = {"phase": phase, "hostIP": "10.0.0.1", "podIP": spec_ctl.get("podIP", "10.244.0.%d" % (len(self.pod_owner) % 250 + 2)),
                  "startTime": t, "qosClass": "BestEffort",
                  "conditions": [{"type": "Initialized", "status": "True", "lastTransitionTime": t},
                                 {"type": "Ready", "status": cond, "lastTransitionTime": t},
                                 {"type": "ContainersReady", "status": cond, "lastTransitionTime": t},
                                 {"type": "PodScheduled", "status": "True", "lastTransitionTime": t}],
                  "containerStatuses": cstatuses}
        if not ready and phase in ("Running", "Pending"):
            status["conditions"][1]["reason"] = status["conditions"][2]["reason"] = "ContainersNotReady"
            bad = [c["name"] for c in cstatuses if not c.get("ready")]
            msg = "containers with unready status: [%s]" % " ".join(bad)
            status["conditions"][1]["message"] = status["conditions"][2]["message"] = msg
        status.update(extra_status or {})
        pkey = self.key(prt, ns, name)
        self.internal_status(prt, pkey, status, manager="kubelet")
        self.pod_owner[pkey] = wkey
        self.pod_logs[pkey] = spec_ctl.get("log", "")
        return self.store[pkey]

    def container_status(self, c, state, restarts, t, crash_exit=1):
        image = c.get("image", "")
        st = {"name": c.get("name", ""), "image": image, "imageID": "", "restartCount": 0,
              "ready": False, "started": False}
        if state == "ready":
            st.update(ready=True, started=True, state={"running": {"startedAt": t}},
                      imageID="docker.io/library/%s@sha256:%s" % (image.split(":")[0], short_hash(image, n=64)),
                      containerID="containerd://" + short_hash(c.get("name"), t, restarts, n=64))
        elif state == "crashloop":
            st.update(restartCount=restarts, state={"waiting": {
                "reason": "CrashLoopBackOff",
                "message": "back-off 5m0s restarting failed container=%s" % c.get("name", "")}},
                lastState={"terminated": {"exitCode": crash_exit, "reason": "Error", "startedAt": t, "finishedAt": t,
                                          "containerID": "containerd://" + short_hash(c.get("name"), t, n=64)}},
                imageID="docker.io/library/%s@sha256:%s" % (image.split(":")[0], short_hash(image, n=64)))
        elif state == "imagepull":
            st.update(state={"waiting": {"reason": "ImagePullBackOff",
                                         "message": 'Back-off pulling image "%s"' % image}})
        else:  # progressing
            st.update(state={"waiting": {"reason": "ContainerCreating"}})
        return st

    def drive_rollout(self, spec):
        rt, key, e = self.workload(spec, ("Deployment", "StatefulSet"))
        state = spec.get("state", "ready")
        if state not in ("ready", "progressing", "crashloop", "imagepull", "deadline"):
            raise bad_request("state must be ready, progressing, crashloop, imagepull or deadline")
        obj = e.obj
        ns, name = key[3], key[4]
        wspec = obj.get("spec") or {}
        replicas = int(spec.get("replicas", wspec.get("replicas", 1)))
        template = wspec.get("template") or {}
        containers = (template.get("spec") or {}).get("containers") or [{"name": "main", "image": ""}]
        target = spec.get("container") or containers[0].get("name")
        restarts = int(spec.get("restarts", 3))
        gen = obj["metadata"].get("generation", 1)
        thash = short_hash(template, n=10, alphabet="bcdfghjklmnpqrstvwxz2456789")
        t = now_rfc3339()
        cstate = "crashloop" if state == "deadline" else state
        self.replace_pods(key)
        owner_uid = obj["metadata"]["uid"]
        pods = []
        for i in range(replicas):
            if rt.kind == "Deployment":
                pname = "%s-%s-%s" % (name, thash, short_hash(name, gen, i, t, self.rv, n=5, alphabet="bcdfghjklmnpqrstvwxz2456789"))
                labels = {"pod-template-hash": thash}
                owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "%s-%s" % (name, thash),
                         "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, owner_uid + thash)),
                         "controller": True, "blockOwnerDeletion": True}
            else:
                pname = "%s-%d" % (name, i)
                labels = {"controller-revision-hash": "%s-%s" % (name, thash),
                          "statefulset.kubernetes.io/pod-name": pname, "apps.kubernetes.io/pod-index": str(i)}
                owner = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": name, "uid": owner_uid,
                         "controller": True, "blockOwnerDeletion": True}
            cst = [self.container_status(c, cstate if c.get("name") == target else "ready", restarts, t)
                   for c in containers]
            ok = cstate == "ready"
            phase = "Pending" if cstate in ("imagepull", "progressing") else "Running"
            p = self.make_pod(key, ns, pname, template, labels, owner, phase, cst, ok, spec)
            pods.append(p)
            involved = {"kind": "Pod", "namespace": ns, "name": pname, "uid": p.obj["metadata"]["uid"],
                        "apiVersion": "v1", "resourceVersion": p.obj["metadata"]["resourceVersion"]}
            tc = next((c for c in containers if c.get("name") == target), containers[0])
            cpath = dict(involved, fieldPath="spec.containers{%s}" % target)
            self.event(ns, involved, "Scheduled", "Successfully assigned %s/%s to fake-node" % (ns, pname),
                       component="default-scheduler")
            if cstate == "ready":
                self.event(ns, cpath, "Pulled", 'Container image "%s" already present on machine' % tc.get("image", ""))
                self.event(ns, cpath, "Started", "Started container %s" % target)
            elif cstate == "crashloop":
                self.event(ns, cpath, "Started", "Started container %s" % target, count=restarts + 1)
                self.event(ns, cpath, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)"
                           % (target, pname, ns, p.obj["metadata"]["uid"]), etype="Warning", count=restarts)
            elif cstate == "imagepull":
                img = tc.get("image", "")
                self.event(ns, cpath, "Failed", 'Failed to pull image "%s": rpc error: code = NotFound desc = '
                           'failed to pull and unpack image "%s": not found' % (img, img), etype="Warning")
                self.event(ns, cpath, "Failed", "Error: ImagePullBackOff", etype="Warning")
                self.event(ns, cpath, "BackOff", 'Back-off pulling image "%s"' % img)
        ready = replicas if cstate == "ready" else 0
        status = {"observedGeneration": gen, "replicas": replicas}
        if rt.kind == "Deployment":
            rs = "%s-%s" % (name, thash)
            status.update(updatedReplicas=replicas)
            if ready:
                status.update(readyReplicas=ready, availableReplicas=ready)
            if replicas - ready:
                status["unavailableReplicas"] = replicas - ready
            avail = ready >= replicas
            conds = [{"type": "Available", "status": "True" if avail else "False",
                      "reason": "MinimumReplicasAvailable" if avail else "MinimumReplicasUnavailable",
                      "message": "Deployment has minimum availability." if avail
                      else "Deployment does not have minimum availability.",
                      "lastUpdateTime": t, "lastTransitionTime": t}]
            if state == "deadline":
                conds.append({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                              "message": 'ReplicaSet "%s" has timed out progressing.' % rs,
                              "lastUpdateTime": t, "lastTransitionTime": t})
            elif avail:
                conds.append({"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                              "message": 'ReplicaSet "%s" has successfully progressed.' % rs,
                              "lastUpdateTime": t, "lastTransitionTime": t})
            else:
                conds.append({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                              "message": 'ReplicaSet "%s" is progressing.' % rs,
                              "lastUpdateTime": t, "lastTransitionTime": t})
            status["conditions"] = conds
        else:
            rev = "%s-%s" % (name, thash)
            old = (obj.get("status") or {}).get("currentRevision")
            status.update(currentReplicas=replicas, updatedReplicas=replicas, updateRevision=rev,
                          currentRevision=rev if (cstate == "ready" or not old) else old, collisionCount=0,
                          availableReplicas=ready)
            if ready:
                status["readyReplicas"] = ready
        e2 = self.internal_status(rt, key, status)
        return self.render(e2)

    def drive_job(self, spec):
        rt, key, e = self.workload(dict(spec, kind="Job"), ("Job",))
        state = spec.get("state", "succeeded")
        if state not in ("succeeded", "failed", "running"):
            raise bad_request("state must be succeeded, failed or running")
        obj = e.obj
        ns, name = key[3], key[4]
        jspec = obj.get("spec") or {}
        template = jspec.get("template") or {}
        containers = (template.get("spec") or {}).get("containers") or [{"name": "main", "image": ""}]
        t = now_rfc3339()
        uid = obj["metadata"]["uid"]
        self.replace_pods(key)
        pname = "%s-%s" % (name, short_hash(name, t, self.rv, n=5, alphabet="bcdfghjklmnpqrstvwxz2456789"))
        labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                  "controller-uid": uid, "job-name": name}
        owner = {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid,
                 "controller": True, "blockOwnerDeletion": True}
        cst = []
        for c in containers:
            s = self.container_status(c, "ready", 0, t)
            if state != "running":
                code = 0 if state == "succeeded" else 1
                s.update(ready=False, started=False, state={"terminated": {
                    "exitCode": code, "reason": "Completed" if code == 0 else "Error",
                    "startedAt": t, "finishedAt": t, "containerID": s.get("containerID", "")}})
            cst.append(s)
        phase = {"succeeded": "Succeeded", "failed": "Failed", "running": "Running"}[state]
        self.make_pod(key, ns, pname, template, labels, owner, phase, cst, state == "running", spec)
        involved = {"kind": "Job", "namespace": ns, "name": name, "uid": uid, "apiVersion": "batch/v1",
                    "resourceVersion": obj["metadata"]["resourceVersion"]}
        self.event(ns, involved, "SuccessfulCreate", "Created pod: %s" % pname, component="job-controller")
        status = {"startTime": t}
        if state == "succeeded":
            status.update(succeeded=int(jspec.get("completions", 1)), completionTime=t, ready=0, terminating=0,
                          uncountedTerminatedPods={},
                          conditions=[{"type": "Complete", "status": "True", "lastProbeTime": t,
                                       "lastTransitionTime": t}])
            self.event(ns, involved, "Completed", "Job completed", component="job-controller")
        elif state == "failed":
            limit = int(jspec.get("backoffLimit", 6))
            status.update(failed=limit + 1, ready=0, terminating=0, uncountedTerminatedPods={},
                          conditions=[{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                       "message": "Job has reached the specified backoff limit",
                                       "lastProbeTime": t, "lastTransitionTime": t}])
            self.event(ns, involved, "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                       etype="Warning", component="job-controller")
        else:
            status.update(active=1, ready=0, terminating=0, uncountedTerminatedPods={})
        e2 = self.internal_status(rt, key, status)
        return self.render(e2)


# ---------------------------------------------------------------------------------------
# The API


class Request:
    def __init__(self, handler, fake):
        self.h = handler
        self.fake = fake
        u = urlsplit(handler.path)
        self.path = u.path
        self.rawquery = u.query
        self.q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        self.method = handler.command
        self.ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        n = int(handler.headers.get("Content-Length") or 0)
        self.raw = handler.rfile.read(n) if n else b""
        ua = handler.headers.get("User-Agent") or "unknown"
        self.user_agent = ua
        self.default_manager = ua.split("/")[0] or "unknown"
        self.auth = "none"


def parse_api_path(path, crds):
    """-> (rt, namespace, name, subresource, rest) or a discovery answer key."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) == 1:
            return ("discovery", "api")
        if parts[1] != "v1":
            return NOT_FOUND_PAGE
        group, version, rest = "", "v1", parts[2:]
    elif parts[0] == "apis":
        if len(parts) == 1:
            return ("discovery", "apis")
        group = parts[1]
        if group == CRD_GROUP and not crds:
            return NOT_FOUND_PAGE
        if not any(t.group == group for t in TYPES):
            return NOT_FOUND_PAGE
        if len(parts) == 2:
            return ("discovery", "group", group)
        version, rest = parts[2], parts[3:]
        if not any(t.group == group and t.version == version for t in TYPES):
            return NOT_FOUND_PAGE
    else:
        return NOT_FOUND_PAGE
    if not rest:
        return ("discovery", "resources", group, version)
    ns = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
        ns, rest = rest[1], rest[2:]
    rt = BY_PLURAL.get((group, version, rest[0]))
    if rt is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource",
                       {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})
    if ns is not None and not rt.namespaced:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else ""
    tail = "/".join(rest[3:])
    if len(rest) > 3 and sub != "proxy":
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return (rt, ns, name, sub, tail)


def discovery(kind, crds, host):
    types = [t for t in TYPES if crds or not t.crd]
    if kind[0] == "api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}

    def group_entry(g):
        vs = sorted({t.version for t in types if t.group == g})
        return {"name": g, "versions": [{"groupVersion": g + "/" + v, "version": v} for v in vs],
                "preferredVersion": {"groupVersion": g + "/" + vs[0], "version": vs[0]}}

    if kind[0] == "apis":
        groups = []
        for t in types:
            if t.group and t.group not in groups:
                groups.append(t.group)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group_entry(g) for g in groups]}
    if kind[0] == "group":
        return dict(group_entry(kind[1]), kind="APIGroup", apiVersion="v1")
    group, version = kind[1], kind[2]
    res = []
    for t in types:
        if t.group != group or t.version != version:
            continue
        r = {"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind,
             "verbs": STANDARD_VERBS if t.plural != "namespaces" else
             ["create", "delete", "get", "list", "patch", "update"]}
        if t.short:
            r["shortNames"] = t.short
        res.append(r)
        if t.status:
            res.append({"name": t.plural + "/status", "singularName": "", "namespaced": t.namespaced,
                        "kind": t.kind, "verbs": ["get", "patch", "update"]})
        if t.plural == "pods":
            res.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
            res.append({"name": "pods/proxy", "singularName": "", "namespaced": True, "kind": "PodProxyOptions",
                        "verbs": ["create", "delete", "get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": version if not group else group + "/" + version, "resources": res}


def handle_api(req, fake):
    """-> (code, body (dict | str), content-type)."""
    p = parse_api_path(req.path, fake.crds)
    if p is None or p is NOT_FOUND_PAGE:
        return 404, "404 page not found\n", "text/plain; charset=utf-8"
    if p[0] == "discovery":
        if req.method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        return 200, discovery(p[1:], fake.crds, req.h.headers.get("Host", "")), "application/json"
    rt, ns, name, sub, tail = p
    if req.q.get("watch") in ("1", "true"):
        raise bad_request("watch is not supported by this fake API server")
    dry = False
    if "dryRun" in req.q:
        if req.q["dryRun"] != "All":
            raise bad_request('Invalid value: "%s": valid values are: All' % req.q["dryRun"])
        dry = True
    if rt.namespaced and ns is None and name is not None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if sub and sub not in ("status", "log", "proxy"):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if sub == "status" and not rt.status:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if sub in ("log", "proxy") and rt.plural != "pods":
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    m = req.method
    if name is None:
        if m == "GET":
            return 200, do_list(fake, rt, ns, req), "application/json"
        if m == "POST":
            if rt.namespaced and ns is None:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return do_create(fake, rt, ns, req, dry)
        if m == "DELETE":
            return 200, do_delete_collection(fake, rt, ns, req, dry), "application/json"
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    if sub == "log":
        if m != "GET":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        key = fake.key(rt, ns, name)
        if key not in fake.store:
            raise not_found(rt, name)
        return 200, fake.pod_logs.get(key, ""), "text/plain"
    if sub == "proxy":
        return do_proxy(fake, rt, ns, name, tail, req)
    if m == "GET":
        e = fake.store.get(fake.key(rt, ns, name))
        if e is None:
            raise not_found(rt, name)
        return 200, fake.render(e), "application/json"
    if m == "PUT":
        return do_put(fake, rt, ns, name, sub, req, dry)
    if m == "PATCH":
        return do_patch(fake, rt, ns, name, sub, req, dry)
    if m == "DELETE":
        if sub:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        return do_delete(fake, rt, ns, name, req, dry)
    raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def list_kind_items(fake, rt, ns, req):
    sel = LabelSelector(req.q.get("labelSelector", ""))
    fsel = field_selector(req.q.get("fieldSelector", ""), rt)
    out = []
    for e in sorted(fake.items(rt, ns), key=lambda e: (e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"])):
        if sel.matches(e.obj["metadata"].get("labels")) and fsel(e.obj):
            out.append(e)
    return out


def do_list(fake, rt, ns, req):
    items = []
    for e in list_kind_items(fake, rt, ns, req):
        o = fake.render(e)
        if not rt.crd:  # typed lists of built-in kinds leave kind and apiVersion out of the items
            o.pop("kind", None)
            o.pop("apiVersion", None)
        items.append(o)
    return {"kind": rt.kind + "List", "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(fake.rv)}, "items": items}


def check_body_identity(rt, obj, ns, name):
    if not isinstance(obj, dict):
        raise bad_request("the body must be a JSON or YAML object")
    if "apiVersion" in obj and obj["apiVersion"] != rt.api_version:
        raise bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                          % (obj["apiVersion"], rt.api_version))
    if "kind" in obj and obj["kind"] != rt.kind:
        raise bad_request("the kind in the data (%s) does not match the expected kind (%s)" % (obj["kind"], rt.kind))
    md = obj.get("metadata")
    if md is not None and not isinstance(md, dict):
        raise bad_request("metadata must be an object")
    md = md or {}
    if name is not None and md.get("name") not in (None, name):
        raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (md.get("name"), name))
    if rt.namespaced and md.get("namespace") not in (None, "", ns):
        raise bad_request("the namespace of the provided object does not match the namespace sent on the request")


def write_ctype(req, allowed):
    if req.ctype not in allowed:
        raise ApiError(415, "UnsupportedMediaType",
                       "the body of the request was in an unknown format - accepted media types include: "
                       + ", ".join(allowed))


def manager_for(req, apply=False):
    fm = req.q.get("fieldManager")
    if apply and not fm:
        raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                       "is required for apply patch",
                       {"kind": "PatchOptions", "group": "meta.k8s.io",
                        "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                                    "field": "fieldManager"}]})
    if fm is not None and len(fm) > 128:
        raise ApiError(422, "Invalid", "fieldManager: Too long: may not be more than 128 bytes")
    return fm or req.default_manager


def field_error(rt, name, err):
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (rt.kind, name, err),
                    {"name": name, "kind": rt.kind, "causes": [{"reason": "FieldValueInvalid", "message": str(err)}]})


def do_create(fake, rt, ns, req, dry):
    write_ctype(req, ["application/json", "application/yaml"])
    obj = parse_body(req.raw, req.ctype == "application/yaml")
    check_body_identity(rt, obj, ns, None)
    if req.q.get("force"):
        raise ApiError(422, "Invalid", "force: Forbidden: may not be specified for non-apply patch")
    obj = copy.deepcopy(obj)
    md = obj.setdefault("metadata", {})
    if not md.get("name") and md.get("generateName"):
        md["name"] = md["generateName"] + short_hash(md["generateName"], fake.rv, time.time(), n=5,
                                                     alphabet="bcdfghjklmnpqrstvwxz2456789")
    fake.validate(rt, obj, None)
    name = md["name"]
    if rt.namespaced and not fake.ns_exists(ns):
        raise not_found(BY_PLURAL[("", "v1", "namespaces")], ns)
    key = fake.key(rt, ns, name)
    if key in fake.store:
        raise already_exists(rt, name)
    if rt.status and rt.kind != "Namespace":
        obj.pop("status", None)
    fake.new_meta(rt, obj, ns)
    fake.defaults(rt, obj)
    try:
        managers = fake.update_managers(rt, None, obj, [], manager_for(req), "Update", "")
    except FieldError as err:
        raise field_error(rt, name, err)
    e, _ = fake.commit(rt, key, None, obj, managers, dry)
    return 201, fake.render(e), "application/json"


def carry_server_fields(rt, old, new, sub):
    """What a client cannot change with a write to the object (or to its status)."""
    md, omd = new.setdefault("metadata", {}), old["metadata"]
    for f in ("uid", "creationTimestamp", "generation", "namespace", "name", "resourceVersion"):
        if f in omd:
            md[f] = omd[f]
        else:
            md.pop(f, None)
    md.pop("managedFields", None)
    new["apiVersion"], new["kind"] = rt.api_version, rt.kind
    if sub == "status":
        status = new.get("status")
        new.clear()
        new.update(copy.deepcopy(old))
        if status is None:
            new.pop("status", None)
        else:
            new["status"] = status
        new["metadata"].pop("managedFields", None)
    elif rt.status:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)


def do_put(fake, rt, ns, name, sub, req, dry):
    write_ctype(req, ["application/json", "application/yaml"])
    obj = parse_body(req.raw, req.ctype == "application/yaml")
    check_body_identity(rt, obj, ns, name)
    if not (obj.get("metadata") or {}).get("name"):
        raise bad_request("the name of the object () does not match the name on the URL (%s)" % name)
    key = fake.key(rt, ns, name)
    old = fake.store.get(key)
    if old is None:
        raise not_found(rt, name)
    want_rv = (obj.get("metadata") or {}).get("resourceVersion")
    if want_rv not in (None, "") and str(want_rv) != old.obj["metadata"]["resourceVersion"]:
        raise stale(rt, name)
    new = copy.deepcopy(obj)
    carry_server_fields(rt, old.obj, new, sub)
    fake.validate(rt, new, name)
    fake.defaults(rt, new)
    try:
        managers = fake.update_managers(rt, old.obj, new, old.managers, manager_for(req), "Update", sub)
    except FieldError as err:
        raise field_error(rt, name, err)
    e, _ = fake.commit(rt, key, old, new, managers, dry)
    return 200, fake.render(e), "application/json"


def do_patch(fake, rt, ns, name, sub, req, dry):
    apply_ct = "application/apply-patch+yaml"
    accepted = ["application/json-patch+json", "application/merge-patch+json", apply_ct]
    if req.ctype not in ("application/merge-patch+json", apply_ct):
        raise ApiError(415, "UnsupportedMediaType",
                       "the body of the request was in an unknown format - accepted media types include: "
                       + ", ".join(accepted[1:]) + " (this fake API server does not do "
                       + "application/json-patch+json or application/strategic-merge-patch+json)")
    if req.ctype == apply_ct:
        return do_apply(fake, rt, ns, name, sub, req, dry)
    if req.q.get("force"):
        raise ApiError(422, "Invalid", "force: Forbidden: may not be specified for non-apply patch")
    patch = parse_body(req.raw, False)
    if not isinstance(patch, dict):
        raise bad_request("a merge patch must be a JSON object")
    key = fake.key(rt, ns, name)
    old = fake.store.get(key)
    if old is None:
        raise not_found(rt, name)
    pmd = patch.get("metadata") if isinstance(patch.get("metadata"), dict) else {}
    if pmd.get("resourceVersion") not in (None, "") and str(pmd["resourceVersion"]) != old.obj["metadata"]["resourceVersion"]:
        raise stale(rt, name)
    if pmd.get("name") not in (None, name):
        raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (pmd["name"], name))
    new = merge_patch(old.obj, patch)
    carry_server_fields(rt, old.obj, new, sub)
    fake.validate(rt, new, name)
    fake.defaults(rt, new)
    try:
        managers = fake.update_managers(rt, old.obj, new, old.managers, manager_for(req), "Update", sub)
    except FieldError as err:
        raise field_error(rt, name, err)
    e, _ = fake.commit(rt, key, old, new, managers, dry)
    return 200, fake.render(e), "application/json"


def conflict_error(conflicts):
    """conflicts: [(manager entry, path)]"""
    causes = []
    by_mgr = {}
    for m, p in conflicts:
        who = 'conflict with "%s"' % m["manager"]
        if m["subresource"]:
            who += ' with subresource "%s"' % m["subresource"]
        who += " using " + m["apiVersion"]
        causes.append({"type": "FieldManagerConflict", "message": who, "field": path_string(p)})
        by_mgr.setdefault(who, []).append(path_string(p))
    n = len(conflicts)
    if n == 1:
        msg = "Apply failed with 1 conflict: %s: %s" % (causes[0]["message"], causes[0]["field"])
    else:
        parts = []
        for who, fields in by_mgr.items():
            parts.append(who.replace("conflict with", "conflicts with", 1) + ":\n" + "\n".join("- " + f for f in fields))
        msg = "Apply failed with %d conflicts: %s" % (n, "\n".join(parts))
    return ApiError(409, "Conflict", msg, {"causes": causes})


def do_apply(fake, rt, ns, name, sub, req, dry):
    manager = manager_for(req, apply=True)
    force = req.q.get("force") in ("true", "1")
    applied = parse_body(req.raw, True)
    if not isinstance(applied, dict):
        raise bad_request("the applied configuration must be an object")
    if not applied.get("apiVersion") or not applied.get("kind"):
        raise bad_request("Object 'Kind' is missing in the applied configuration" if not applied.get("kind")
                          else "Object 'apiVersion' is missing in the applied configuration")
    check_body_identity(rt, applied, ns, name)
    applied = copy.deepcopy(applied)
    amd = applied.setdefault("metadata", {})
    if not isinstance(amd, dict):
        raise bad_request("metadata must be an object")
    amd.setdefault("name", name)
    try:
        new_set = fieldset(scoped(applied, rt, sub), rt)
    except FieldError as err:
        raise field_error(rt, name, err)
    key = fake.key(rt, ns, name)
    old = fake.store.get(key)
    if old is None:
        if sub:
            raise not_found(rt, name)
        if rt.namespaced and not fake.ns_exists(ns):
            raise not_found(BY_PLURAL[("", "v1", "namespaces")], ns)
        obj = copy.deepcopy(applied)
        if rt.status and rt.kind != "Namespace":
            obj.pop("status", None)
        fake.validate(rt, obj, name)
        fake.new_meta(rt, obj, ns)
        fake.defaults(rt, obj)
        managers = fake.update_managers(rt, None, obj, [], manager, "Apply", "", fields=new_set)
        e, _ = fake.commit(rt, key, None, obj, managers, dry)
        return 201, fake.render(e), "application/json"
    want_rv = amd.get("resourceVersion")
    if want_rv not in (None, "") and str(want_rv) != old.obj["metadata"]["resourceVersion"]:
        raise stale(rt, name)
    ident = (manager, "Apply", sub)
    mine = next((m for m in old.managers if (m["manager"], m["operation"], m["subresource"]) == ident), None)
    old_set = set(mine["fields"]) if mine else set()
    others = [dict(m, fields=set(m["fields"])) for m in old.managers
              if (m["manager"], m["operation"], m["subresource"]) != ident]
    # Conflicts: a field in the applied set that another manager owns, with another value.
    conflicts = []
    for p in sorted(new_set):
        if p[-1][0] == "k":
            continue
        found, lv = get_at(old.obj, p, rt)
        if not found:
            continue
        av = get_at(applied, p, rt)[1]
        if isinstance(av, dict) and not av:
            continue
        if canon(lv) == canon(av):
            continue
        for m in others:
            if p in m["fields"]:
                conflicts.append((m, p))
    if conflicts and not force:
        raise conflict_error(conflicts)
    for m, p in conflicts:
        m["fields"].discard(p)
    new = copy.deepcopy(old.obj)
    # Fields this manager applied before and no longer does: removed unless still owned.
    owned_elsewhere = set(new_set)
    for m in others:
        owned_elsewhere |= m["fields"]

    def still_owned(p):
        n = len(p)
        return any(q[:n] == p for q in owned_elsewhere)

    for p in sorted(old_set - new_set, key=len):  # an item or map before what is inside it
        if still_owned(p):
            continue
        if len(p) >= 2 and p[-2][0] == "k" and p[-1][1] in json.loads(p[-2][1]):
            continue  # a key field stays as long as its item does
        if remove_at(new, p, rt):
            # a map or list left empty by the removal goes too, unless someone owns it
            q = p[:-1]
            while q:
                found, v = get_at(new, q, rt)
                if found and isinstance(v, (dict, list)) and not v and not still_owned(q):
                    remove_at(new, q, rt)
                    q = q[:-1]
                else:
                    break
    part = scoped(applied, rt, sub)
    try:
        merge_applied(new, part, (), rt)
    except FieldError as err:
        raise field_error(rt, name, err)
    carry_server_fields(rt, old.obj, new, sub)
    fake.validate(rt, new, name)
    fake.defaults(rt, new)
    by_ident = {(m["manager"], m["operation"], m["subresource"]): m for m in others}
    ordered = [by_ident.get((m["manager"], m["operation"], m["subresource"]), m) for m in old.managers]
    managers = fake.update_managers(rt, old.obj, new, ordered, manager, "Apply", sub, fields=new_set)
    e, _ = fake.commit(rt, key, old, new, managers, dry)
    return 200, fake.render(e), "application/json"


def delete_options(req):
    if not req.raw:
        return {}
    try:
        o = json.loads(req.raw.decode("utf-8", "replace"))
    except ValueError:
        raise bad_request("the body of a DELETE must be DeleteOptions in JSON")
    return o if isinstance(o, dict) else {}


def propagation(req, opts):
    pp = req.q.get("propagationPolicy") or opts.get("propagationPolicy") or "Background"
    if pp not in ("Orphan", "Background", "Foreground"):
        raise ApiError(422, "Invalid", 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
                       '"%s": supported values: "Foreground", "Background", "Orphan", "nil"' % pp)
    return pp


def do_delete(fake, rt, ns, name, req, dry):
    opts = delete_options(req)
    pp = propagation(req, opts)
    if opts.get("dryRun") == ["All"]:
        dry = True
    key = fake.key(rt, ns, name)
    e = fake.store.get(key)
    if e is None:
        raise not_found(rt, name)
    pre = opts.get("preconditions") or {}
    if pre.get("uid") and pre["uid"] != e.obj["metadata"]["uid"]:
        raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": Precondition failed: UID in '
                       "precondition: %s, UID in object meta: %s" % (rt.qualified(), name, pre["uid"],
                                                                    e.obj["metadata"]["uid"]))
    if pre.get("resourceVersion") and pre["resourceVersion"] != e.obj["metadata"]["resourceVersion"]:
        raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": Precondition failed: '
                       "ResourceVersion in precondition: %s, ResourceVersion in object meta: %s"
                       % (rt.qualified(), name, pre["resourceVersion"], e.obj["metadata"]["resourceVersion"]))
    body = fake.render(e)
    if not dry:
        fake.delete_key(key, orphan=(pp == "Orphan"))
    if rt.plural in DELETE_RETURNS_OBJECT:
        if rt.kind == "Namespace":
            body.setdefault("status", {})["phase"] = "Terminating"
            body["metadata"]["deletionTimestamp"] = now_rfc3339()
        return 200, body, "application/json"
    d = {"name": name, "kind": rt.plural, "uid": e.obj["metadata"]["uid"]}
    if rt.group:
        d["group"] = rt.group
    return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d}, \
        "application/json"


def do_delete_collection(fake, rt, ns, req, dry):
    if rt.plural == "namespaces":
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    opts = delete_options(req)
    pp = propagation(req, opts)
    items = []
    for e in list_kind_items(fake, rt, ns, req):
        items.append(fake.render(e))
        if not dry:
            fake.delete_key(fake.key(rt, e.obj["metadata"].get("namespace"), e.obj["metadata"]["name"]),
                            orphan=(pp == "Orphan"))
    return {"kind": rt.kind + "List", "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(fake.rv)}, "items": items}


def do_proxy(fake, rt, ns, name, tail, req):
    pod = name.split(":")[0]
    key = fake.key(rt, ns, pod)
    e = fake.store.get(key)
    if e is None:
        raise not_found(rt, pod)
    for probe in ((ns, pod), (ns, "*"), ("*", "*")):
        if probe in fake.canned:
            code, body = fake.canned[probe]
            return code, body, "application/json" if not isinstance(body, str) else "text/plain"
    if fake.opts.pod_status_file:
        try:
            with open(fake.opts.pod_status_file) as f:
                table = json.load(f)
            for probe in (ns + "/" + pod, "*"):
                if probe in table:
                    return 200, table[probe], "application/json"
        except (OSError, ValueError) as err:
            raise ApiError(500, "InternalError", "--pod-status-file: %s" % err)
    url = ((e.obj["metadata"].get("annotations") or {}).get("k8s-fake.alluse.dev/proxy-url"))
    if url:
        target = url.rstrip("/") + "/" + tail + ("?" + req.rawquery if req.rawquery else "")
        r = urllib.request.Request(target, data=req.raw or None, method=req.method)
        if req.ctype:
            r.add_header("Content-Type", req.ctype)
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return resp.status, resp.read().decode("utf-8", "replace"), resp.headers.get("Content-Type", "text/plain")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace"), err.headers.get("Content-Type", "text/plain")
        except (urllib.error.URLError, OSError) as err:
            raise ApiError(503, "ServiceUnavailable", "error trying to reach service: %s" % err)
    raise ApiError(503, "ServiceUnavailable", 'no endpoint for pod "%s" (the fake has no answer for its proxy)' % pod)


# ---------------------------------------------------------------------------------------
# Control endpoints


def handle_control(req, fake):
    path = req.path[len("/_fake/"):].strip("/")
    body = {}
    if req.raw:
        try:
            body = json.loads(req.raw.decode("utf-8", "replace"))
        except ValueError as e:
            raise bad_request("control body: %s" % e)
    m = req.method
    if path == "log" and m == "GET":
        bodies = req.q.get("bodies") in ("1", "true")
        reqs = [dict(r) if bodies else {k: v for k, v in r.items() if k != "body"} for r in fake.log]
        return 200, {"requests": reqs}
    if path == "log" and m == "DELETE":
        fake.log = []
        return 200, {"ok": True}
    if m != "POST" and path != "state":
        raise ApiError(405, "MethodNotAllowed", "control endpoints take POST (GET for log and state)")
    if path == "rollout":
        return 200, fake.drive_rollout(body)
    if path == "job":
        return 200, fake.drive_job(body)
    if path == "auto":
        d = body.get("delayMs")
        fake.auto_ms = None if d is None else max(0, int(d))
        if "fail" in body:
            fake.auto_fail = dict(body.get("fail") or {})
        return 200, {"delayMs": fake.auto_ms, "fail": fake.auto_fail}
    if path == "crds":
        fake.crds = bool(body.get("installed", True))
        return 200, {"installed": fake.crds}
    if path == "inject":
        inj = {"method": (body.get("method") or "").upper(), "path": re.compile(body.get("path") or ""),
               "code": int(body.get("code", 500)), "reason": body.get("reason", "InternalError"),
               "message": body.get("message", "injected by the test"), "times": int(body.get("times", 1))}
        fake.injections.append(inj)
        return 200, {"ok": True}
    if path == "pod-proxy":
        fake.canned[(body.get("namespace") or "default", body.get("pod") or "*")] = \
            (int(body.get("code", 200)), body.get("body", {}))
        return 200, {"ok": True}
    if path == "reset":
        fake.reset()
        return 200, {"ok": True}
    if path == "state" and m == "GET":
        return 200, {"resourceVersion": str(fake.rv),
                     "objects": sorted("/".join(k) for k in fake.store)}
    raise ApiError(404, "NotFound", "no control endpoint /_fake/%s" % path)


# ---------------------------------------------------------------------------------------
# HTTP


class Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True
    ssl_ctx = None

    def finish_request(self, request, client_address):
        if self.ssl_ctx is not None:
            request.settimeout(10)
            try:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                sys.stderr.write("k8s_fake: TLS handshake from %s:%d failed: %s\n" % (client_address + (e,)))
                try:
                    request.close()
                except OSError:
                    pass
                return
            request.settimeout(60)
        self.RequestHandlerClass(request, client_address, self)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k8s-fake"
    fake = None

    def log_message(self, *args):
        pass

    def send(self, code, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            data = json.dumps(body, indent=None).encode()
            ctype = "application/json"
        else:
            data = (body or "").encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def authenticate(self, req):
        token = self.fake.opts.token
        h = self.headers.get("Authorization") or ""
        if token and h == "Bearer " + token:
            return "token"
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                cert = self.connection.getpeercert()
            except ValueError:
                cert = None
            if cert:
                cn = ""
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cn = v
                return "cert:" + cn
        return None

    def handle_any(self):
        fake = self.fake
        req = Request(self, fake)
        if req.path.startswith("/_fake/") or req.path == "/_fake":
            with fake.lock:
                fake.tick()
                try:
                    code, body = handle_control(req, fake)
                except ApiError as e:
                    code, body = e.code, e.status()
            return self.send(code, body)
        if req.path in ("/healthz", "/readyz", "/livez"):
            return self.send(200, "ok", "text/plain")
        if req.path == "/version":
            return self.send(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-k8s-fake",
                                   "platform": "linux/amd64"})
        with fake.lock:
            fake.tick()
            who = self.authenticate(req)
            req.auth = who or "none"
            ctype = "application/json"
            try:
                if who is None:
                    raise ApiError(401, "Unauthorized", "Unauthorized")
                for inj in fake.injections:
                    if inj["times"] > 0 and (not inj["method"] or inj["method"] == req.method) \
                            and inj["path"].search(req.path):
                        inj["times"] -= 1
                        raise ApiError(inj["code"], inj["reason"], inj["message"])
                code, body, ctype = handle_api(req, fake)
            except ApiError as e:
                code, body = e.code, e.status()
            except Exception as e:  # noqa: BLE001 - a bug here is a 500 the test can see, not a hang
                import traceback
                traceback.print_exc()
                code, body = 500, ApiError(500, "InternalError", "k8s_fake: %s: %s" % (type(e).__name__, e)).status()
            self.seq_log(req, code)
        self.send(code, body, ctype)

    def seq_log(self, req, code):
        fake = self.fake
        fake.seq += 1
        fake.log.append({"seq": fake.seq, "method": req.method, "path": req.path, "query": req.rawquery,
                         "contentType": req.ctype, "fieldManager": req.q.get("fieldManager", ""),
                         "dryRun": req.q.get("dryRun", ""), "force": req.q.get("force", ""),
                         "auth": req.auth, "userAgent": req.user_agent, "code": code,
                         "body": req.raw.decode("utf-8", "replace")})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


def main(argv=None):
    ap = argparse.ArgumentParser(description="a loopback fake of the Kubernetes API server, for tests")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--plain", action="store_true", help="plain HTTP (debugging)")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca", help="CA that signs accepted client certificates")
    ap.add_argument("--token", help="the accepted bearer token")
    ap.add_argument("--no-crds", action="store_true", help="the monitoring.coreos.com CRDs are not installed")
    ap.add_argument("--auto-ready-ms", type=int, default=None)
    ap.add_argument("--auto-fail", action="append", default=[], metavar="NAME=STATE")
    ap.add_argument("--pod-status-file")
    opts = ap.parse_args(argv)
    opts.auto_fail_map = {}
    for a in opts.auto_fail:
        k, _, v = a.partition("=")
        opts.auto_fail_map[k] = v
    if not opts.plain and not (opts.cert and opts.key):
        ap.error("--cert and --key are required unless --plain")
    fake = Fake(opts)
    Handler.fake = fake
    srv = Server(("127.0.0.1", opts.port), Handler)
    if not opts.plain:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(opts.cert, opts.key)
        if opts.client_ca:
            ctx.load_verify_locations(opts.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
        srv.ssl_ctx = ctx
    port = srv.server_address[1]
    tmp = opts.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, opts.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
