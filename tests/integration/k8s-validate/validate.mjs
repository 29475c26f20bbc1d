// Validates Kubernetes manifests (YAML files, one or more documents each) against the
// OpenAPI schemas of the Kubernetes API (npm kubernetes-models) and of the Prometheus
// Operator's CRDs (npm @kubernetes-models/prometheus-operator).
//   node validate.mjs FILE...     -> one line per object: "ok KIND NAME" or "invalid KIND NAME: why"
// Exit 0 when every object is valid, 1 otherwise, 2 on a file that is not YAML or a
// kind no schema package knows.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// apiVersion -> the module folder its kinds live in
function modulePath(apiVersion, kind) {
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

let status = 0;
for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      console.log(`error ${file}: ${doc.errors[0].message}`);
      status = 2;
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    const name = `${obj.kind} ${obj.metadata?.namespace ? obj.metadata.namespace + "/" : ""}${obj.metadata?.name ?? file}`;
    if (obj.kind === "Kustomization") {
      const ok = Array.isArray(obj.resources) && obj.resources.every((r) => typeof r === "string");
      console.log(ok ? `ok ${name}` : `invalid ${name}: resources must list file names`);
      if (!ok) status = Math.max(status, 1);
      continue;
    }
    let Model;
    try {
      Model = (await import(modulePath(obj.apiVersion, obj.kind)))[obj.kind];
    } catch (e) {
      console.log(`error ${file}: no schema for ${obj.apiVersion} ${obj.kind}`);
      status = 2;
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`ok ${name}`);
    } catch (e) {
      console.log(`invalid ${name} (${file}): ${e.message.split("\n")[0]}`);
      status = Math.max(status, 1);
    }
  }
}
process.exit(status);
