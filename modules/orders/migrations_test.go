package orders_test

import (
	"context"
	"testing"

	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/migrations"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
)

// The orders' customers come and go with migration 0003: orders from before
// it have an empty customer, no one's, once it is applied, and an
// Idempotency-Key is its customer's. Undoing it refuses while two customers'
// orders share a key, which the older schema cannot hold, and then restores
// one order per key; applying it again is the same head.
func TestCustomersMigrateDownAndUpAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := database.Open(ctx, apptest.FreshDatabase(t), ordersgw.Name, database.PoolOptions{MaxOpen: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m := apptest.Migrator(t, db, migrations.For(ordersgw.Name), database.ModuleTable)
	if err := m.Migrate(2); err != nil {
		t.Fatalf("up to 0002: %v", err)
	}
	// insert writes a paid order with the Idempotency-Key "key", of customer
	// when given: the schema before 0003 has none to give it.
	insert := func(id string, customer ...string) error {
		columns, values, args := `id, account_id, status, saga_step, idempotency_key, request_hash`,
			`?, gen_random_uuid(), 'paid', 'done', 'key', 'hash'`, []any{id}
		for _, c := range customer {
			columns, values, args = columns+`, customer`, values+`, ?`, append(args, c)
		}
		return db.Exec(`INSERT INTO orders (`+columns+`) VALUES (`+values+`)`, args...).Error
	}
	const before, ada, bob = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000003"
	if err := insert(before); err != nil {
		t.Fatalf("an order before 0003: %v", err)
	}

	if err := m.Migrate(3); err != nil {
		t.Fatalf("up to 0003: %v", err)
	}
	var customer string
	if err := db.Raw(`SELECT customer FROM orders WHERE id = ?`, before).Row().Scan(&customer); err != nil || customer != "" {
		t.Errorf("an order from before 0003 is %q's (%v), want no customer's", customer, err)
	}
	for _, o := range []struct{ id, customer string }{{ada, "ada"}, {bob, "bob"}} {
		if err := insert(o.id, o.customer); err != nil {
			t.Fatalf("%s's order with the key of another's: %v", o.customer, err)
		}
	}
	if err := insert("00000000-0000-0000-0000-000000000004", "ada"); err == nil {
		t.Error("ada placed two orders with one key")
	}

	if err := m.Steps(-1); err == nil {
		t.Fatal("0003 was undone while the orders of three customers share a key")
	}
	if err := m.Force(3); err != nil { // the step rolled back, and left its mark dirty
		t.Fatal(err)
	}
	if err := db.Exec(`DELETE FROM orders WHERE id IN (?, ?)`, ada, bob).Error; err != nil {
		t.Fatal(err)
	}
	if err := m.Steps(-1); err != nil {
		t.Fatalf("undo 0003: %v", err)
	}
	if err := insert(ada); err == nil {
		t.Error("two orders share a key after 0003 is undone")
	}
	if err := m.Up(); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if ok, err := database.AtHead(ctx, db, migrations.For(ordersgw.Name), database.ModuleTable); err != nil || !ok {
		t.Fatalf("at head after going up again: %v, %v", ok, err)
	}
}
