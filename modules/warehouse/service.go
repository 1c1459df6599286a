package warehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	orderevents "github.com/uberservice/uberservice/gateway/orders/events"
	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/gateway/warehouse/events"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/money"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/validate"
)

// Errors of the warehouse's public API, beside the gateway's.
var (
	ErrProductNotFound   = problem.New(http.StatusNotFound, "product_not_found", "The product does not exist")
	ErrDuplicateSKU      = problem.New(http.StatusConflict, "duplicate_sku", "A product with this sku already exists")
	ErrStockLimit        = problem.New(http.StatusUnprocessableEntity, "stock_limit", "The stock on hand would exceed its limit")
	ErrShipmentNotFound  = problem.New(http.StatusNotFound, "shipment_not_found", "The shipment does not exist")
	ErrShipmentCancelled = problem.New(http.StatusConflict, "shipment_cancelled", "The shipment was cancelled")
)

// Limits of what the warehouse accepts.
const (
	// MaxPrice is the largest unit price, in minor units (1e15: ten trillion
	// dollars in cents), far enough from int64 overflow that an order's total
	// of many lines can still be added up.
	MaxPrice int64 = 1_000_000_000_000_000
	// MaxQuantity bounds one receipt of goods and one reserved line.
	MaxQuantity int64 = 1_000_000_000
	// MaxLines bounds the lines of one reservation.
	MaxLines = 100

	maxSKU  = 64
	maxName = 200
)

// Shipment statuses.
const (
	StatusPicking    = "picking"
	StatusDispatched = "dispatched"
	StatusCancelled  = "cancelled"
)

var skuPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Product is a product of the catalogue and its stock. Available is what can
// still be reserved: on hand minus reserved.
type Product struct {
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Price     int64     `json:"price"`
	Currency  string    `json:"currency"`
	OnHand    int64     `json:"on_hand"`
	Reserved  int64     `json:"reserved"`
	Available int64     `json:"available"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (p Product) utc() Product {
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p
}

// NewProduct asks for a product. Price is a pointer because a missing price is
// an error while a price of 0 (a free sample) is a valid choice.
type NewProduct struct {
	SKU      string `json:"sku"`
	Name     string `json:"name"`
	Price    *int64 `json:"price"`
	Currency string `json:"currency"`
}

// Shipment is the picking and dispatch of one paid order's reserved stock.
type Shipment struct {
	ID        uuid.UUID     `json:"id"`
	OrderID   uuid.UUID     `json:"order_id"`
	Status    string        `json:"status"` // picking, dispatched or cancelled
	Lines     []events.Line `json:"lines"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// service is the warehouse context: every rule lives here, between the HTTP
// handlers and the store. It is also the local implementation of the warehouse
// gateway, so the orders module in this process gets the very same behaviour
// as one calling over HTTP.
type service struct {
	db  *database.DB
	log *slog.Logger
}

var _ gateway.Warehouse = (*service)(nil)

// CreateProduct adds a product to the catalogue, with no stock yet.
func (s *service) CreateProduct(ctx context.Context, req NewProduct) (Product, error) {
	if err := req.normalize(); err != nil {
		return Product{}, err
	}
	p, inserted, err := insertProduct(s.db.WithContext(ctx), Product{SKU: req.SKU, Name: req.Name, Price: *req.Price, Currency: req.Currency})
	if err != nil {
		return Product{}, problem.Wrapf(err, "warehouse: create product")
	}
	if !inserted {
		return Product{}, ErrDuplicateSKU.WithDetail("sku %q is taken", req.SKU)
	}
	s.log.InfoContext(ctx, "product created", "sku", p.SKU)
	return p, nil
}

// normalize applies defaults and checks every field, reporting all the
// invalid ones at once.
func (r *NewProduct) normalize() error {
	r.Name = strings.TrimSpace(r.Name)
	if r.Currency == "" {
		r.Currency = money.DefaultCurrency
	}
	var v problem.Violations
	if !skuPattern.MatchString(r.SKU) {
		v.Add("sku", fmt.Sprintf("must be 1 to %d letters, digits, '.', '_' or '-'", maxSKU))
	}
	validate.RequiredText(&v, "name", r.Name, maxName)
	switch {
	case r.Price == nil:
		v.Add("price", "is required")
	case *r.Price < 0:
		v.Add("price", "must not be negative")
	case *r.Price > MaxPrice:
		v.Add("price", fmt.Sprintf("must be at most %d", MaxPrice))
	}
	validate.Currency(&v, "currency", r.Currency)
	return v.Err()
}

// Product returns the product sku with its stock.
func (s *service) Product(ctx context.Context, sku string) (Product, error) {
	if !skuPattern.MatchString(sku) {
		return Product{}, productNotFound(sku)
	}
	p, found, err := findProduct(s.db.WithContext(ctx), sku)
	if err != nil {
		return Product{}, problem.Wrapf(err, "warehouse: get product")
	}
	if !found {
		return Product{}, productNotFound(sku)
	}
	return p, nil
}

// ReceiveStock adds goods received to the stock on hand of sku and returns
// the product with its new stock. key is the request's Idempotency-Key,
// possibly empty: the product is stored with the key, so a retry with the same
// key gets it again (replayed true) and adds nothing.
func (s *service) ReceiveStock(ctx context.Context, sku string, quantity int64, key string) (p Product, replayed bool, err error) {
	if !skuPattern.MatchString(sku) {
		return Product{}, false, productNotFound(sku)
	}
	var v problem.Violations
	validate.Positive(&v, "quantity", quantity, MaxQuantity)
	if err := v.Err(); err != nil {
		return Product{}, false, err
	}
	// The request as the key remembers it: a retry must receive the same quantity.
	request := struct {
		Quantity int64 `json:"quantity"`
	}{quantity}
	p, replayed, err = idempotency.Do(ctx, s.db, "stock:"+sku, key, request, func(tx *gorm.DB) (Product, error) {
		received, ok, err := addStock(tx, sku, quantity)
		switch {
		case err != nil:
			return Product{}, err
		case ok:
			return received, nil
		}
		_, found, err := findProduct(tx, sku)
		switch {
		case err != nil:
			return Product{}, err
		case !found:
			return Product{}, productNotFound(sku)
		}
		return Product{}, ErrStockLimit.WithDetail("%s cannot take %d more", quoteSKU(sku), quantity)
	})
	if err != nil {
		return Product{}, false, problem.Wrapf(err, "warehouse: receive stock")
	}
	if !replayed {
		s.log.InfoContext(ctx, "stock received", "sku", sku, "quantity", quantity)
	}
	return p, replayed, nil
}

// Reserve implements gateway.Warehouse. The reservation row is claimed first:
// it is the order's lock, so that racing calls for one order get one
// reservation, and it vanishes with everything else when a line cannot be
// served. The lines of the answer follow the order of req.Lines.
func (s *service) Reserve(ctx context.Context, req gateway.ReserveRequest) (gateway.Reservation, error) {
	if err := checkReserve(req); err != nil {
		return gateway.Reservation{}, err
	}
	var out gateway.Reservation
	err := s.db.Transact(ctx, func(tx *gorm.DB) error {
		r, created, err := claimReservation(tx, req.OrderID)
		if err != nil {
			return err
		}
		if !created {
			out, err = existingReservation(tx, req)
			return err
		}
		lines, err := reserveLines(tx, req.Lines)
		if err != nil {
			return err
		}
		if err := insertReservationLines(tx, req.OrderID, lines); err != nil {
			return err
		}
		out = gateway.Reservation{OrderID: r.OrderID, Status: r.Status, Lines: lines, CreatedAt: r.CreatedAt}
		return nil
	})
	if err != nil {
		return gateway.Reservation{}, problem.Wrapf(err, "warehouse: reserve")
	}
	return out, nil
}

// checkReserve validates a reservation request before it reaches the
// database. A malformed sku names no product, so it is ErrUnknownSKU, exactly
// like a well-formed unknown one: the caller (an order) is rejected for the
// same reason either way.
func checkReserve(req gateway.ReserveRequest) error {
	var v problem.Violations
	if req.OrderID == uuid.Nil {
		v.Add("order_id", "is required")
	}
	switch n := len(req.Lines); {
	case n == 0:
		v.Add("lines", "at least one line is required")
	case n > MaxLines:
		// Say so once, rather than once per line of a request of any size.
		v.Add("lines", fmt.Sprintf("at most %d lines", MaxLines))
		return v.Err()
	}
	seen := make(map[string]bool, len(req.Lines))
	for i, l := range req.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		switch {
		case l.SKU == "":
			v.Add(field+".sku", "is required")
		case seen[l.SKU]:
			v.Add(field+".sku", "appears on another line; give each sku once")
		}
		seen[l.SKU] = true
		validate.Positive(&v, field+".quantity", l.Quantity, MaxQuantity)
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, l := range req.Lines {
		if !skuPattern.MatchString(l.SKU) {
			return gateway.ErrUnknownSKU.WithDetail("no product %s", quoteSKU(l.SKU))
		}
	}
	return nil
}

// reserveLines sets stock aside for every line or, when one cannot be served,
// for none. The products are locked in sku order, so that concurrent
// reservations over the same products queue instead of deadlocking.
func reserveLines(tx *gorm.DB, lines []gateway.Line) ([]gateway.ReservedLine, error) {
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	slices.Sort(skus)
	products, err := lockProducts(tx, skus)
	if err != nil {
		return nil, err
	}
	bySKU := make(map[string]Product, len(products))
	for _, p := range products {
		bySKU[p.SKU] = p
	}
	var unknown, short []string
	for _, l := range lines {
		p, ok := bySKU[l.SKU]
		switch {
		case !ok:
			unknown = append(unknown, quoteSKU(l.SKU))
		case p.Available < l.Quantity:
			short = append(short, fmt.Sprintf("%s (%d available, %d asked)", quoteSKU(l.SKU), p.Available, l.Quantity))
		}
	}
	if len(unknown) > 0 {
		return nil, gateway.ErrUnknownSKU.WithDetail("no product %s", strings.Join(unknown, ", "))
	}
	if len(short) > 0 {
		return nil, gateway.ErrOutOfStock.WithDetail("not enough stock of %s", strings.Join(short, ", "))
	}
	out := make([]gateway.ReservedLine, len(lines))
	for i, l := range lines {
		if err := reserveStock(tx, l.SKU, l.Quantity); err != nil {
			return nil, err
		}
		p := bySKU[l.SKU]
		out[i] = gateway.ReservedLine{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: p.Price, Currency: p.Currency}
	}
	return out, nil
}

// existingReservation answers a Reserve for an order that already has a
// reservation: the same lines get it again, whatever their order and whatever
// became of it since (a dispatched reservation says so), unless it was
// released; other lines are a conflict.
func existingReservation(tx *gorm.DB, req gateway.ReserveRequest) (gateway.Reservation, error) {
	r, found, err := lockReservation(tx, req.OrderID)
	if err != nil {
		return gateway.Reservation{}, err
	}
	if !found {
		return gateway.Reservation{}, fmt.Errorf("reservation of order %s vanished while being read", req.OrderID)
	}
	if r.Status == gateway.StatusReleased {
		return gateway.Reservation{}, gateway.ErrReservationReleased.WithDetail("order %s released its stock", req.OrderID)
	}
	stored, err := reservationLines(tx, req.OrderID)
	if err != nil {
		return gateway.Reservation{}, err
	}
	bySKU := make(map[string]gateway.ReservedLine, len(stored))
	for _, l := range stored {
		bySKU[l.SKU] = l
	}
	lines := make([]gateway.ReservedLine, 0, len(req.Lines))
	for _, l := range req.Lines {
		got, ok := bySKU[l.SKU]
		if !ok || got.Quantity != l.Quantity {
			break
		}
		lines = append(lines, got)
	}
	if len(lines) != len(req.Lines) || len(lines) != len(stored) {
		return gateway.Reservation{}, gateway.ErrReservationConflict.WithDetail("order %s reserved other lines", req.OrderID)
	}
	return gateway.Reservation{OrderID: r.OrderID, Status: r.Status, Lines: lines, CreatedAt: r.CreatedAt}, nil
}

// Release implements gateway.Warehouse.
func (s *service) Release(ctx context.Context, orderID uuid.UUID) error {
	if orderID == uuid.Nil {
		return problem.Invalid(problem.Field("order_id", "is required"))
	}
	var was string
	err := s.db.Transact(ctx, func(tx *gorm.DB) (err error) {
		was, err = release(tx, orderID)
		return err
	})
	if err != nil {
		return problem.Wrapf(err, "warehouse: release")
	}
	if was == gateway.StatusReserved {
		s.log.InfoContext(ctx, "reservation released", "order_id", orderID)
	}
	return nil
}

// release gives an order's reserved stock back and cancels its shipment if it
// is still being picked; it is what Release and an order's cancellation share.
// It answers the status the reservation had, "" when there was none. The
// reservation's lock serializes it with a dispatch of the same order, so stock
// is either released or shipped, never both.
func release(tx *gorm.DB, orderID uuid.UUID) (was string, err error) {
	r, found, err := lockReservation(tx, orderID)
	if err != nil || !found {
		return "", err
	}
	if r.Status == gateway.StatusDispatched {
		return r.Status, gateway.ErrAlreadyDispatched.WithDetail("the stock of order %s has left the warehouse", orderID)
	}
	// Cancelling is also done for a reservation released earlier: the order of
	// release and shipment never leaves a released order being picked.
	if _, err := cancelPickingShipment(tx, orderID); err != nil {
		return "", err
	}
	if r.Status == gateway.StatusReleased {
		return r.Status, nil
	}
	if err := lockReservedProducts(tx, orderID); err != nil {
		return "", err
	}
	if err := unreserveStock(tx, orderID); err != nil {
		return "", err
	}
	return r.Status, setReservationStatus(tx, orderID, gateway.StatusReleased)
}

// Shipments returns the shipments of an order: none, or the one made when it
// was paid.
func (s *service) Shipments(ctx context.Context, orderID uuid.UUID) ([]Shipment, error) {
	out, err := shipmentsOfOrder(s.db.WithContext(ctx), orderID)
	if err != nil {
		return nil, problem.Wrapf(err, "warehouse: list shipments")
	}
	return out, nil
}

// Shipment returns one shipment.
func (s *service) Shipment(ctx context.Context, id uuid.UUID) (Shipment, error) {
	sh, found, err := findShipment(s.db.WithContext(ctx), id, false)
	if err != nil {
		return Shipment{}, problem.Wrapf(err, "warehouse: get shipment")
	}
	if !found {
		return Shipment{}, shipmentNotFound(id)
	}
	return sh, nil
}

// Dispatch sends a picked shipment out: its units leave the stock on hand and
// the reserved count, the reservation and the shipment become dispatched, and
// shipment_dispatched is published, all in one transaction. Dispatching it
// again answers it unchanged and publishes nothing; a cancelled shipment
// cannot be dispatched.
func (s *service) Dispatch(ctx context.Context, id uuid.UUID) (Shipment, error) {
	var (
		out  Shipment
		sent bool
	)
	err := s.db.Transact(ctx, func(tx *gorm.DB) error {
		orderID, found, err := orderOfShipment(tx, id)
		if err != nil {
			return err
		}
		if !found {
			return shipmentNotFound(id)
		}
		r, found, err := lockReservation(tx, orderID)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("shipment %s has no reservation for order %s", id, orderID)
		}
		if out, _, err = findShipment(tx, id, true); err != nil {
			return err
		}
		switch {
		case out.Status == StatusDispatched:
			return nil
		case out.Status == StatusCancelled:
			return ErrShipmentCancelled.WithDetail("shipment %s of order %s was cancelled", id, orderID)
		case r.Status != gateway.StatusReserved:
			// Releasing cancels a picking shipment in the same transaction, so
			// this is a bug, not a state a client can cause.
			return fmt.Errorf("shipment %s is %s but the reservation of order %s is %s", id, out.Status, orderID, r.Status)
		}
		if err := lockReservedProducts(tx, orderID); err != nil {
			return err
		}
		if err := shipStock(tx, orderID); err != nil {
			return err
		}
		if err := setReservationStatus(tx, orderID, gateway.StatusDispatched); err != nil {
			return err
		}
		if out.UpdatedAt, err = setShipmentStatus(tx, id, StatusDispatched); err != nil {
			return err
		}
		out.Status, sent = StatusDispatched, true
		return messaging.Publish(ctx, tx, events.ShipmentDispatched{
			ShipmentID:   out.ID,
			OrderID:      out.OrderID,
			Lines:        out.Lines,
			DispatchedAt: out.UpdatedAt,
		})
	})
	if err != nil {
		return Shipment{}, problem.Wrapf(err, "warehouse: dispatch")
	}
	if sent {
		s.log.InfoContext(ctx, "shipment dispatched", "shipment_id", id, "order_id", out.OrderID)
	}
	return out, nil
}

// onOrderPaid starts picking a paid order: a shipment of its reserved lines,
// once per order whatever the redeliveries (the unique order id).
//
// An order cancelled before this event arrived has its reservation released
// already; it still gets its shipment, cancelled at once. The outcome is then
// the same whichever of the two events comes first, and the order's shipment
// list tells what happened. An order the warehouse holds no reservation for
// cannot be picked: that is logged, not retried, since retrying cannot fix it.
func (s *service) onOrderPaid(ctx context.Context, tx *gorm.DB, e orderevents.OrderPaid) error {
	if e.OrderID == uuid.Nil {
		return messaging.Permanent(errors.New("order_paid without an order_id"))
	}
	log := s.log.With("order_id", e.OrderID)
	r, found, err := lockReservation(tx, e.OrderID)
	if err != nil {
		return err
	}
	if !found {
		log.WarnContext(ctx, "order paid without a reservation in the warehouse; nothing to ship")
		return nil
	}
	status := StatusPicking
	switch r.Status {
	case gateway.StatusReleased:
		status = StatusCancelled
	case gateway.StatusDispatched:
		// Only a shipment dispatches a reservation, so the shipment exists.
		log.InfoContext(ctx, "order paid again after its dispatch; nothing to do")
		return nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("new shipment id: %w", err)
	}
	created, err := insertShipment(tx, id, e.OrderID, status)
	if err != nil {
		return err
	}
	if created {
		log.InfoContext(ctx, "shipment created", "shipment_id", id, "status", status)
	} else {
		log.InfoContext(ctx, "order already has a shipment")
	}
	return nil
}

// onOrderCancelled releases a cancelled order's stock and cancels its shipment
// if it is still being picked: the very path of Release. Goods that have left
// the warehouse stay dispatched; that is worth a warning, not a retry.
func (s *service) onOrderCancelled(ctx context.Context, tx *gorm.DB, e orderevents.OrderCancelled) error {
	if e.OrderID == uuid.Nil {
		return messaging.Permanent(errors.New("order_cancelled without an order_id"))
	}
	log := s.log.With("order_id", e.OrderID)
	was, err := release(tx, e.OrderID)
	switch {
	case errors.Is(err, gateway.ErrAlreadyDispatched):
		log.WarnContext(ctx, "order cancelled after its shipment was dispatched; the shipment stays dispatched")
		return nil
	case err != nil:
		return err
	case was == "":
		log.InfoContext(ctx, "order cancelled without a reservation in the warehouse; nothing to release")
	case was == gateway.StatusReserved:
		log.InfoContext(ctx, "order cancelled; reservation released")
	}
	return nil
}

func productNotFound(sku string) error {
	return ErrProductNotFound.WithDetail("no product %s", quoteSKU(sku))
}

func shipmentNotFound(id uuid.UUID) error {
	return ErrShipmentNotFound.WithDetail("no shipment %s", id)
}

// quoteSKU quotes a sku for an error detail, cut short when it is longer than
// any sku can be, since it may be anything a client sent.
func quoteSKU(sku string) string {
	if utf8.RuneCountInString(sku) > maxSKU {
		return fmt.Sprintf("%q...", string([]rune(sku)[:maxSKU]))
	}
	return fmt.Sprintf("%q", sku)
}
