package app

import "sort"

// Route is one route a module serves: a method and a path template, with
// parameters written :name as Echo writes them.
type Route struct {
	Method string
	Path   string
}

// Routes lists every route module serves on its port, in a stable order, or
// nil when it does not run here. Tests that must cover each route a module
// has, and fail when one is added without them, start from it
// (apptest.System.RefusesBadInput).
func (s *System) Routes(module string) []Route {
	for _, r := range s.modules {
		if r.env.Module.Name != module || r.env.HTTP == nil {
			continue
		}
		var routes []Route
		for _, er := range r.env.HTTP.Routes() {
			routes = append(routes, Route{Method: er.Method, Path: er.Path})
		}
		sort.Slice(routes, func(i, j int) bool {
			if routes[i].Path != routes[j].Path {
				return routes[i].Path < routes[j].Path
			}
			return routes[i].Method < routes[j].Method
		})
		return routes
	}
	return nil
}
