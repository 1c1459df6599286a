package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/identity"
)

func uberservice(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, []Module{{Name: "accounts"}, {Name: "orders"}}, &out, &errOut)
	return code, out.String(), errOut.String()
}

// verifyDevelopment verifies token as a process with the key set in dir,
// and no issuer configured, does.
func verifyDevelopment(t *testing.T, dir, token string) identity.Person {
	t.Helper()
	iss, err := identity.Development(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := identity.NewVerifier(context.Background(), iss.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	p, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("the printed token: %v", err)
	}
	return p
}

// `uberservice token` prints a person's token of the development issuer,
// and nothing else, with the key set that run uses.
func TestTokenCommand(t *testing.T) {
	t.Setenv("UBERSERVICE_KEYS_DIR", "")
	t.Setenv("UBERSERVICE_OIDC_ISSUER", "")
	dir := filepath.Join(t.TempDir(), "keys")
	code, stdout, stderr := uberservice(t, "token", "--keys", dir, "--subject", "ann", "--role", "customer,staff", "--role", "customer", "--ttl", "10m")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 || strings.Count(stdout, ".") != 2 {
		t.Fatalf("stdout is not a token alone: %q", stdout)
	}
	p := verifyDevelopment(t, dir, strings.TrimSpace(stdout))
	if p.Subject != "ann" || !slices.Equal(p.Roles, []identity.Role{identity.Customer, identity.Staff}) {
		t.Errorf("the token says %+v", p)
	}

	// Without --keys, the development key set's folder, beside the
	// embedded Postgres's data, as run has it.
	pg := filepath.Join(t.TempDir(), "pg", "data")
	code, stdout, stderr = uberservice(t, "token", "--embedded-postgres-dir", pg, "--subject", "bob", "--role", "manager")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if dev, _ := keysDir("", pg); verifyDevelopment(t, dev, strings.TrimSpace(stdout)).Subject != "bob" {
		t.Error("the token is not of the development key set's issuer")
	}
}

func TestTokenCommandRefusals(t *testing.T) {
	t.Setenv("UBERSERVICE_OIDC_ISSUER", "")
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--role", "customer"}, "subject is empty"},
		{[]string{"--subject", "ann\tbob", "--role", "customer"}, "control character"},
		{[]string{"--subject", "ann\u202ebob", "--role", "customer"}, "control character"},
		{[]string{"--subject", "ann"}, "want --role"},
		{[]string{"--subject", "ann", "--role", "customer,root"}, `"root": unknown`},
		{[]string{"--subject", "ann", "--role", "customer", "--ttl", "25h"}, "at most 24h"},
		{[]string{"--subject", "ann", "--role", "customer", "--ttl", "0s"}, "more than 0"},
		{[]string{"--subject", "ann", "--role", "customer", "--oidc-issuer", "https://login.example.com"}, "tokens come from your identity provider"},
		{[]string{"--subject", "ann", "--role", "customer", "--oidc-audience", "shop"}, "none is named"},
		{[]string{"--subject", "ann", "--role", "customer", "extra"}, "unexpected arguments"},
	} {
		code, stdout, stderr := uberservice(t, append([]string{"token", "--keys", dir}, c.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.says) {
			t.Errorf("token %q: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, stdout, stderr, c.says)
		}
	}
	t.Setenv("UBERSERVICE_OIDC_ISSUER", "https://login.example.com")
	if code, _, stderr := uberservice(t, "token", "--keys", dir, "--subject", "ann", "--role", "customer"); code != 2 || !strings.Contains(stderr, "identity provider") {
		t.Errorf("with UBERSERVICE_OIDC_ISSUER: exit %d: %s", code, stderr)
	}
}

// The development issuer's key lives in the key set's folder, which the
// modules' keys still work from.
func TestTokenLeavesTheKeySetWorking(t *testing.T) {
	t.Setenv("UBERSERVICE_OIDC_ISSUER", "")
	dir := filepath.Join(t.TempDir(), "keys")
	for _, args := range [][]string{
		{"keys", "generate", "--out", dir},
		{"token", "--keys", dir, "--subject", "ann", "--role", "staff"},
		{"keys", "token", "--keys", dir},
		{"keys", "rotate", "--keys", dir, "orders"},
	} {
		if code, _, stderr := uberservice(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, identity.DevelopmentKeyFile)); err != nil {
		t.Error(err)
	}
}

func TestUsageNamesTheTokenCommandAndTheIssuerFlags(t *testing.T) {
	if _, stdout, _ := uberservice(t, "help"); !strings.Contains(stdout, "uberservice token --subject SUBJECT --role ROLE[,ROLE] [--ttl D]") {
		t.Errorf("help says nothing of token:\n%s", stdout)
	}
	_, stdout, _ := uberservice(t, "run", "-h")
	for _, flag := range []string{"-oidc-issuer", "UBERSERVICE_OIDC_ISSUER", "-oidc-audience", "UBERSERVICE_OIDC_AUDIENCE",
		"-oidc-jwks-url", "UBERSERVICE_OIDC_JWKS_URL", "-oidc-roles-claim", "UBERSERVICE_OIDC_ROLES_CLAIM"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("run -h says nothing of %s", flag)
		}
	}
}

// A malformed issuer is a usage error, before anything starts.
func TestRunRefusesAMalformedIssuer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if code, _, stderr := uberservice(t, "keys", "generate", "--out", dir); code != 0 {
		t.Fatal(stderr)
	}
	code, _, stderr := uberservice(t, "run", "--keys", dir, "--database-url", "postgres://127.0.0.1:1/x",
		"--oidc-issuer", "ftp://login.example.com", "--shutdown-timeout", time.Second.String())
	if code != 2 || !strings.Contains(stderr, `"ftp://login.example.com"`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
