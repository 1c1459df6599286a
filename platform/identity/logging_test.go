package identity_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/identity"
)

func TestLogLinesNameTheSubject(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(identity.LogHandler(slog.NewTextHandler(&out, nil))).With("module", "accounts")
	ctx := identity.WithPerson(context.Background(), identity.Person{Subject: "alice", Roles: []identity.Role{identity.Customer}})
	log.InfoContext(ctx, "for alice")
	log.InfoContext(context.Background(), "for nobody")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "subject=alice") || !strings.Contains(lines[0], "module=accounts") || strings.Contains(lines[1], "subject=") {
		t.Fatalf("log lines:\n%s", out.String())
	}
}
