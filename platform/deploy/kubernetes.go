package deploy

import (
	"fmt"
	"strings"
)

// Kubernetes renders the kustomize base, k8s/base (a Deployment and a Service
// per module, and the kustomization that lists them and generates the
// ConfigMap they share), and k8s/migrate, a Job that migrates as a pipeline
// step of its own.
func Kubernetes(modules []Module) ([]File, error) {
	if err := validate(modules); err != nil {
		return nil, err
	}
	service := func(m Module) string { return fmt.Sprintf("http://uberservice-%s:%d", m.Name, m.Port) }
	type manifest struct {
		Module
		Comment string
		Service string // the URL other modules reach it at
	}
	var (
		files     []File
		manifests []manifest
		all       []string // UBERSERVICE_PEERS: every module, at its Service
	)
	for _, m := range modules {
		c := summary(m)
		if !m.Database {
			c += " It keeps no data, but its migrate init container, like every module's, migrates every schema and creates every consumer group."
		}
		manifests = append(manifests, manifest{Module: m, Comment: c, Service: service(m)})
		all = append(all, m.Name+"="+service(m))
	}
	for _, m := range manifests {
		f, err := render("k8s/base/"+m.Name+".yaml", "module.yaml.tmpl", m)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	for _, r := range []struct {
		path, template string
		data           any
	}{
		{"k8s/base/kustomization.yaml", "kustomization.yaml.tmpl", struct {
			Manifests []manifest
			Peers     string
		}{manifests, strings.Join(all, ",")}},
		{"k8s/migrate/job.yaml", "job.yaml.tmpl", nil},
		{"k8s/migrate/kustomization.yaml", "migrate-kustomization.yaml.tmpl", nil},
	} {
		f, err := render(r.path, r.template, r.data)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}
