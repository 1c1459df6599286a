package app

import (
	"fmt"
	"net/http"
	"time"
)

// probeCommand answers whether url serves a 2xx: the health check of a
// container image that has no shell or curl.
func probeCommand(args []string) error {
	if len(args) != 1 {
		return usagef("usage: uberservice probe URL")
	}
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(args[0])
	if err != nil {
		return fmt.Errorf("probe %s: %w", args[0], err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("probe %s: %s", args[0], resp.Status)
	}
	return nil
}
