//go:build !unix

package pgembed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// startChild exists for the build: only Unix has a root that initdb refuses.
func startChild(context.Context, clusterConfig, *slog.Logger) (*Server, error) {
	return nil, errors.New("pgembed: running the cluster as another user is only supported on Unix")
}

// RunChild is called by main when the binary was re-executed as the
// cluster's child; that only happens on Unix.
func RunChild(args []string) int {
	fmt.Fprintln(os.Stderr, "pgembed: "+ChildCommand+" is only supported on Unix")
	return 2
}
