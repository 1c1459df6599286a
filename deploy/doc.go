// Package deploy holds no code. Its folder is how uberservice is deployed: the
// split topology for Docker Compose (compose.yaml) and a kustomize base for
// Kubernetes (k8s/), both from the one image of the Dockerfile at the root.
//
// The files are rendered from the binary's modules by `uberservice deploy
// compose|kubernetes` (`make deploy`), all but k8s/database-secret.example.yaml,
// which is kept by hand; edit the templates of platform/deploy, not the files.
//
// Its tests hold that configuration, and the Dockerfile, to the binary they
// deploy: the rendered files are what the binary renders now, and every module
// the binary lists runs somewhere, on its public and internal ports, with the
// peers it calls at their internal ports, probed on /healthz and /readyz, from
// one image; only public ports are published on the host, and on Kubernetes
// the NetworkPolicies admit to a module's internal port only the modules that
// use its gateway, and operators. `make deploy-check` runs them, then
// builds and validates the manifests with kustomize, kubectl-validate and the
// Compose specification.
package deploy
