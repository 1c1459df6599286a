package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// The setup calls the scenarios make through the public API, before they
// measure anything.

var client = &http.Client{Timeout: 30 * time.Second}

// call sends body as JSON and decodes a JSON answer into out (when not nil);
// any status but want is an error.
func call(ctx context.Context, method, url string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s, want %d: %s", method, url, resp.Status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode %s: %w", method, url, data, err)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// manager creates an investment manager and returns its id and referral
// code.
func manager(ctx context.Context, im string) (id, code string, err error) {
	code = "BENCH-" + randomHex(4)
	var m struct {
		ID string `json:"id"`
	}
	err = call(ctx, http.MethodPost, im+"/v1/managers", map[string]any{
		"name": "Bench Manager", "email": "manager." + randomHex(3) + "@bench.example",
		"referral_code": code, "commission_bps": 150,
	}, http.StatusCreated, &m)
	return m.ID, code, err
}

// openAccounts opens n accounts, 8 at a time, with the referral code (none
// when empty), and returns their ids.
func openAccounts(ctx context.Context, accounts string, n int, referral string) ([]string, error) {
	ids := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range ids {
		g.Go(func() error {
			var a struct {
				ID string `json:"id"`
			}
			body := map[string]any{"owner_name": fmt.Sprintf("Bench Owner %d", i), "email": fmt.Sprintf("owner%d.%s@bench.example", i, randomHex(2))}
			if referral != "" {
				body["referral_code"] = referral
			}
			if err := call(gctx, http.MethodPost, accounts+"/v1/accounts", body, http.StatusCreated, &a); err != nil {
				return err
			}
			ids[i] = a.ID
			return nil
		})
	}
	return ids, g.Wait()
}

// deposit puts amount into account.
func deposit(ctx context.Context, accounts, account string, amount int64) error {
	return call(ctx, http.MethodPost, accounts+"/v1/accounts/"+account+"/deposits",
		map[string]any{"amount": amount}, http.StatusCreated, nil)
}

// product creates a product at price and receives quantity of it.
func product(ctx context.Context, warehouse string, price, quantity int64) (string, error) {
	sku := "BENCH-" + randomHex(4)
	if err := call(ctx, http.MethodPost, warehouse+"/v1/products",
		map[string]any{"sku": sku, "name": "Benchmark widget", "price": price}, http.StatusCreated, nil); err != nil {
		return "", err
	}
	return sku, call(ctx, http.MethodPost, warehouse+"/v1/products/"+sku+"/stock",
		map[string]any{"quantity": quantity}, http.StatusOK, nil)
}

// waitLinked waits until im has linked every one of accounts to a manager
// (im learns of them from accounts.account_created.v1).
func waitLinked(ctx context.Context, dbURL string, accounts []string, timeout time.Duration) error {
	return waitZero(ctx, dbURL, `SELECT $2::int - count(*) FROM im.account_links WHERE account_id = ANY($1::uuid[])`,
		[]any{accounts, len(accounts)}, timeout)
}

// waitZero polls query (one count) until it is zero.
func waitZero(ctx context.Context, dbURL, query string, args []any, timeout time.Duration) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(timeout)
	var n int64
	for {
		if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still %d after %s: %s", n, timeout, query)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
