package warehouse

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/gateway/warehouse/events"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
)

// The store is plain SQL on a *gorm.DB that already carries the request's
// context and, for writes, the transaction they belong to. It knows tables,
// not rules: the service decides what a missing row means.
//
// Locks are always taken in one order: an order's reservation row first (it
// serializes everything that happens to one order), then its shipment, then
// products by sku. Two transactions of different orders meet only on products,
// which every one of them locks in sku order, so they cannot deadlock.

const productColumns = `sku, name, price, currency, on_hand, reserved, on_hand - reserved AS available, created_at, updated_at`

const shipmentColumns = `id, order_id, status, created_at, updated_at`

// insertProduct adds p with no stock, unless its sku is taken: inserted is
// false then.
func insertProduct(db *gorm.DB, p Product) (out Product, inserted bool, err error) {
	res := db.Raw(`INSERT INTO products (sku, name, price, currency) VALUES (?, ?, ?, ?)
		ON CONFLICT (sku) DO NOTHING RETURNING `+productColumns, p.SKU, p.Name, p.Price, p.Currency).Scan(&out)
	if res.Error != nil {
		return out, false, fmt.Errorf("insert product: %w", res.Error)
	}
	return out.utc(), res.RowsAffected > 0, nil
}

// findProduct returns the product sku, or found false.
func findProduct(db *gorm.DB, sku string) (p Product, found bool, err error) {
	res := db.Raw(`SELECT `+productColumns+` FROM products WHERE sku = ?`, sku).Scan(&p)
	if res.Error != nil {
		return p, false, fmt.Errorf("read product: %w", res.Error)
	}
	return p.utc(), res.RowsAffected > 0, nil
}

// addStock adds quantity to the stock on hand of sku, in one conditional
// statement that cannot overflow. ok is false when the product does not exist
// or would overflow; the caller tells which.
func addStock(db *gorm.DB, sku string, quantity int64) (p Product, ok bool, err error) {
	res := db.Raw(`UPDATE products SET on_hand = on_hand + ?, updated_at = now()
		WHERE sku = ? AND on_hand <= ? RETURNING `+productColumns, quantity, sku, math.MaxInt64-quantity).Scan(&p)
	if res.Error != nil {
		return p, false, fmt.Errorf("add stock: %w", res.Error)
	}
	return p.utc(), res.RowsAffected > 0, nil
}

// lockProducts returns the products among skus and locks their rows, in sku
// order, until the transaction ends.
func lockProducts(db *gorm.DB, skus []string) ([]Product, error) {
	var out []Product
	// database.Query: first in a reservation's locking, it may share a
	// round trip with a group's other statements (database.Grouped).
	err := database.Query(db, `SELECT `+productColumns+` FROM products WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE`,
		[]any{database.Texts(skus)}, func(scan func(dest ...any) error) error {
			var p Product
			if err := scan(&p.SKU, &p.Name, &p.Price, &p.Currency, &p.OnHand, &p.Reserved, &p.Available, &p.CreatedAt, &p.UpdatedAt); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("lock products: %w", err)
	}
	return out, nil
}

// reserveStock sets quantity of sku aside. The caller holds the product's lock
// and has checked that enough is available; the table's check constraint is
// the last word all the same.
func reserveStock(db *gorm.DB, sku string, quantity int64) error {
	// With the commit, in its round trip: the products' locks are held for
	// one round trip fewer, and nothing reads the row back.
	if err := database.Defer(db, "", `UPDATE products SET reserved = reserved + $1, updated_at = now() WHERE sku = $2`,
		quantity, sku); err != nil {
		return fmt.Errorf("reserve %d of %s: %w", quantity, sku, err)
	}
	return nil
}

// lockReservedProducts locks, in sku order, the products an order's
// reservation holds, before a statement that changes them all at once.
func lockReservedProducts(db *gorm.DB, orderID uuid.UUID) error {
	if err := db.Exec(`SELECT sku FROM products
		WHERE sku IN (SELECT sku FROM reservation_lines WHERE order_id = ?) ORDER BY sku FOR UPDATE`, orderID).Error; err != nil {
		return fmt.Errorf("lock the products of order %s: %w", orderID, err)
	}
	return nil
}

// unreserveStock gives an order's reserved units back to the available stock.
// The caller holds the products' locks (lockReservedProducts).
func unreserveStock(db *gorm.DB, orderID uuid.UUID) error {
	if err := db.Exec(`UPDATE products p SET reserved = p.reserved - l.quantity, updated_at = now()
		FROM reservation_lines l WHERE l.order_id = ? AND p.sku = l.sku`, orderID).Error; err != nil {
		return fmt.Errorf("release the stock of order %s: %w", orderID, err)
	}
	return nil
}

// shipStock takes an order's reserved units out of the building: they leave
// the stock on hand and the reserved count together. The caller holds the
// products' locks (lockReservedProducts).
func shipStock(db *gorm.DB, orderID uuid.UUID) error {
	if err := db.Exec(`UPDATE products p SET on_hand = p.on_hand - l.quantity, reserved = p.reserved - l.quantity,
		updated_at = now() FROM reservation_lines l WHERE l.order_id = ? AND p.sku = l.sku`, orderID).Error; err != nil {
		return fmt.Errorf("ship the stock of order %s: %w", orderID, err)
	}
	return nil
}

// reservation is a reservations row, without its lines.
type reservation struct {
	OrderID   uuid.UUID
	Status    string
	Owner     string // the module that made it; "" for one made before owners were kept
	CreatedAt time.Time
}

// ownedBy reports whether module may act on r: it made r, or r is from before
// owners were kept.
func (r reservation) ownedBy(module string) bool { return r.Owner == "" || r.Owner == module }

// claimReservation creates the reservation of orderID unless the order has one:
// created is false then, and the caller reads the existing one. When another
// transaction is reserving for the same order, the insert waits for it to end.
func claimReservation(db *gorm.DB, orderID uuid.UUID, owner string) (r reservation, created bool, err error) {
	// database.QueryRow: first in Reserve's transaction, it carries the BEGIN.
	err = database.QueryRow(db, `INSERT INTO reservations (order_id, status, owner) VALUES ($1, $2, $3)
		ON CONFLICT (order_id) DO NOTHING RETURNING order_id, status, owner, created_at`,
		[]any{orderID, gateway.StatusReserved, owner}, &r.OrderID, &r.Status, &r.Owner, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return reservation{}, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("claim reservation of order %s: %w", orderID, err)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return r, true, nil
}

// lockReservation reads the reservation of orderID and locks its row until the
// transaction ends, so that nothing else happens to the order meanwhile.
func lockReservation(db *gorm.DB, orderID uuid.UUID) (r reservation, found bool, err error) {
	err = database.QueryRow(db, `SELECT order_id, status, owner, created_at FROM reservations WHERE order_id = $1 FOR UPDATE`,
		[]any{orderID}, &r.OrderID, &r.Status, &r.Owner, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return reservation{}, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("lock reservation of order %s: %w", orderID, err)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return r, true, nil
}

func setReservationStatus(db *gorm.DB, orderID uuid.UUID, status string) error {
	if err := db.Exec(`UPDATE reservations SET status = ?, updated_at = now() WHERE order_id = ?`,
		status, orderID).Error; err != nil {
		return fmt.Errorf("mark reservation of order %s %s: %w", orderID, status, err)
	}
	return nil
}

// insertReservationLines stores the lines of orderID's reservation in one
// statement.
func insertReservationLines(db *gorm.DB, orderID uuid.UUID, lines []gateway.ReservedLine) error {
	rows := make([]string, len(lines))
	args := make([]any, 0, 5*len(lines))
	for i, l := range lines {
		n := 5 * i
		rows[i] = fmt.Sprintf("($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, orderID, l.SKU, l.Quantity, l.UnitPrice, l.Currency)
	}
	// With the commit, as reserveStock's updates.
	if err := database.Defer(db, "", `INSERT INTO reservation_lines (order_id, sku, quantity, unit_price, currency) VALUES `+
		strings.Join(rows, ", "), args...); err != nil {
		return fmt.Errorf("insert lines of order %s: %w", orderID, err)
	}
	return nil
}

// reservationLines returns the lines of orderID's reservation, by sku.
func reservationLines(db *gorm.DB, orderID uuid.UUID) ([]gateway.ReservedLine, error) {
	out := []gateway.ReservedLine{}
	if err := db.Raw(`SELECT sku, quantity, unit_price, currency FROM reservation_lines
		WHERE order_id = ? ORDER BY sku`, orderID).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("read lines of order %s: %w", orderID, err)
	}
	return out, nil
}

// toShip is a paid order's reservation as onOrderPaid needs it.
type toShip struct {
	status  string // the reservation's
	shipped bool   // the order has a shipment already
}

// lockToShip locks the reservations of orders, in order id order, and reads
// their status and whether their order has a shipment. An order with no
// reservation is not in the map.
func lockToShip(db *gorm.DB, orders []uuid.UUID) (map[uuid.UUID]toShip, error) {
	out := make(map[uuid.UUID]toShip, len(orders))
	// database.Query: first in the batch's transaction after its inbox rows.
	err := database.Query(db, `SELECT r.order_id, r.status, EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = r.order_id)
		FROM reservations r WHERE r.order_id = ANY($1::uuid[]) ORDER BY r.order_id FOR UPDATE OF r`,
		[]any{database.UUIDs(orders)}, func(scan func(dest ...any) error) error {
			var id uuid.UUID
			var o toShip
			if err := scan(&id, &o.status, &o.shipped); err != nil {
				return err
			}
			out[id] = o
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("lock the reservations of %d paid orders: %w", len(orders), err)
	}
	return out, nil
}

// insertShipment adds orderID's shipment with the commit: its caller holds
// the order's reservation and has seen that it has none.
func insertShipment(db *gorm.DB, id, orderID uuid.UUID, status string) error {
	if err := database.Defer(db, "", `INSERT INTO shipments (id, order_id, status) VALUES ($1, $2, $3)
		ON CONFLICT (order_id) DO NOTHING`, id, orderID, status); err != nil {
		return fmt.Errorf("insert shipment of order %s: %w", orderID, err)
	}
	return nil
}

// cancelPickingShipment cancels the order's shipment if it is still being
// picked, and says whether it did.
func cancelPickingShipment(db *gorm.DB, orderID uuid.UUID) (bool, error) {
	res := db.Exec(`UPDATE shipments SET status = ?, updated_at = now() WHERE order_id = ? AND status = ?`,
		StatusCancelled, orderID, StatusPicking)
	if res.Error != nil {
		return false, fmt.Errorf("cancel shipment of order %s: %w", orderID, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// orderOfShipment returns the order a shipment is for, without locking: the
// caller locks the order's reservation first, then the shipment.
func orderOfShipment(db *gorm.DB, id uuid.UUID) (orderID uuid.UUID, found bool, err error) {
	var row struct{ OrderID uuid.UUID }
	res := db.Raw(`SELECT order_id FROM shipments WHERE id = ?`, id).Scan(&row)
	if res.Error != nil {
		return uuid.Nil, false, fmt.Errorf("read shipment %s: %w", id, res.Error)
	}
	return row.OrderID, res.RowsAffected > 0, nil
}

// findShipment returns the shipment id with its lines, or found false; lock
// says whether to lock its row until the transaction ends.
func findShipment(db *gorm.DB, id uuid.UUID, lock bool) (sh Shipment, found bool, err error) {
	query := `SELECT ` + shipmentColumns + ` FROM shipments WHERE id = ?`
	if lock {
		query += ` FOR UPDATE`
	}
	var row shipmentRow
	res := db.Raw(query, id).Scan(&row)
	if res.Error != nil {
		return sh, false, fmt.Errorf("read shipment %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return sh, false, nil
	}
	sh, err = withLines(db, row)
	return sh, err == nil, err
}

// shipmentOrder is the order of a list of shipments: newest first, like
// every list, by id among those of one instant.
var shipmentOrder = page.NewKeyset("warehouse.shipments", page.Time("created_at"), page.UUID("id"))

// shipmentsOfOrder returns one page of the shipments of an order with their
// lines: none or one, as a list so that the API can grow (split shipments,
// say).
func shipmentsOfOrder(db *gorm.DB, orderID uuid.UUID, req page.Request) (page.Page[Shipment], error) {
	q := db.Table("shipments").Select(shipmentColumns).Where("order_id = ?", orderID)
	rows, err := page.Find(q, shipmentOrder, req, func(r shipmentRow) []any { return []any{r.CreatedAt, r.ID} })
	if err != nil {
		return page.Page[Shipment]{}, problem.Wrapf(err, "list shipments of order %s", orderID)
	}
	out := page.Page[Shipment]{Items: make([]Shipment, 0, len(rows.Items)), Next: rows.Next}
	for _, row := range rows.Items {
		sh, err := withLines(db, row)
		if err != nil {
			return page.Page[Shipment]{}, err
		}
		out.Items = append(out.Items, sh)
	}
	return out, nil
}

// shipmentRow is a shipments row: a Shipment without its lines.
type shipmentRow struct {
	ID        uuid.UUID
	OrderID   uuid.UUID
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// withLines makes row a Shipment with its lines, which are its order's
// reservation's.
func withLines(db *gorm.DB, row shipmentRow) (Shipment, error) {
	sh := Shipment{ID: row.ID, OrderID: row.OrderID, Status: row.Status, Lines: []events.Line{},
		CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC()}
	if err := db.Raw(`SELECT sku, quantity FROM reservation_lines WHERE order_id = ? ORDER BY sku`,
		sh.OrderID).Scan(&sh.Lines).Error; err != nil {
		return sh, fmt.Errorf("read lines of shipment %s: %w", sh.ID, err)
	}
	return sh, nil
}

// setShipmentStatus changes a shipment's status and returns when it did.
func setShipmentStatus(db *gorm.DB, id uuid.UUID, status string) (time.Time, error) {
	var at time.Time
	if err := db.Raw(`UPDATE shipments SET status = ?, updated_at = now() WHERE id = ? RETURNING updated_at`,
		status, id).Row().Scan(&at); err != nil {
		return at, fmt.Errorf("mark shipment %s %s: %w", id, status, err)
	}
	return at.UTC(), nil
}
