package warehouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/money"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/validate"
)

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

// CreateProduct adds a product to the catalogue, with no stock yet. Staff
// do; anyone else is identity.ErrForbidden.
func (s *service) CreateProduct(ctx context.Context, req NewProduct) (Product, error) {
	if err := identity.Require(ctx, runsStore...); err != nil {
		return Product{}, err
	}
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

// Product returns the product sku with its stock, to a customer or staff;
// anyone else is identity.ErrForbidden, whether sku exists or not.
func (s *service) Product(ctx context.Context, sku string) (Product, error) {
	if err := identity.Require(ctx, readsCatalogue...); err != nil {
		return Product{}, err
	}
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
// key gets it again (replayed true) and adds nothing. Staff receive goods;
// anyone else is identity.ErrForbidden, whether sku exists or not.
func (s *service) ReceiveStock(ctx context.Context, sku string, quantity int64, key string) (p Product, replayed bool, err error) {
	if err := identity.Require(ctx, runsStore...); err != nil {
		return Product{}, false, err
	}
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
