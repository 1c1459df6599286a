package warehouse

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

// handlers are the public HTTP API: they decode, call the service and encode,
// nothing more. Errors are problems; the platform's error handler writes them.
type handlers struct{ svc *service }

// mountAPI adds the public API to e, each route with the roles it admits
// (see access.go).
func mountAPI(e *echo.Echo, svc *service) {
	h := handlers{svc: svc}
	e.POST("/v1/products", h.createProduct, identity.Admit(runsStore...))
	e.GET("/v1/products/:sku", h.getProduct, identity.Admit(readsCatalogue...))
	e.POST("/v1/products/:sku/stock", h.receiveStock, identity.Admit(runsStore...))
	e.GET("/v1/shipments", h.shipments, identity.Admit(runsStore...))
	e.GET("/v1/shipments/:id", h.getShipment, identity.Admit(runsStore...))
	e.POST("/v1/shipments/:id/dispatch", h.dispatch, identity.Admit(runsStore...))
}

// stockRequest is the body of a receipt of goods.
type stockRequest struct {
	Quantity int64 `json:"quantity"`
}

func (h handlers) createProduct(c echo.Context) error {
	var req NewProduct
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	p, err := h.svc.CreateProduct(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

func (h handlers) getProduct(c echo.Context) error {
	p, err := h.svc.Product(c.Request().Context(), c.Param("sku"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// receiveStock serves a receipt of goods: 200 with the product and its stock,
// which may be the answer to an earlier request with the same
// Idempotency-Key. A malformed sku is refused before the body is read, as an
// unknown one.
func (h handlers) receiveStock(c echo.Context) error {
	sku := c.Param("sku")
	if !skuPattern.MatchString(sku) {
		return productNotFound(sku)
	}
	key, err := idempotency.KeyFrom(c.Request())
	if err != nil {
		return err
	}
	var req stockRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	p, replayed, err := h.svc.ReceiveStock(c.Request().Context(), sku, req.Quantity, key)
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set(idempotency.ReplayedHeader, "true")
	}
	return c.JSON(http.StatusOK, p)
}

// shipments lists a page of the shipments of the order named in the query.
// The order is required: the warehouse does not list every shipment it ever
// made.
func (h handlers) shipments(c echo.Context) error {
	raw := c.QueryParam("order_id")
	var v problem.Violations
	orderID, err := uuid.Parse(raw)
	switch {
	case raw == "":
		v.Add("order_id", "is required")
	case err != nil:
		v.Add("order_id", "must be a UUID")
	}
	if err := v.Err(); err != nil {
		return err
	}
	req, err := page.Parse(c.QueryParams())
	if err != nil {
		return err
	}
	p, err := h.svc.Shipments(c.Request().Context(), orderID, req)
	if err != nil {
		return err
	}
	return page.Write(c, p)
}

func (h handlers) getShipment(c echo.Context) error {
	id, err := shipmentID(c)
	if err != nil {
		return err
	}
	sh, err := h.svc.Shipment(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sh)
}

func (h handlers) dispatch(c echo.Context) error {
	id, err := shipmentID(c)
	if err != nil {
		return err
	}
	sh, err := h.svc.Dispatch(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sh)
}

// shipmentID reads the shipment id from the path. A malformed id names no
// shipment, so it is the same 404 as an unknown one.
func shipmentID(c echo.Context) (uuid.UUID, error) {
	id, err := web.PathID(c, "id")
	if err != nil {
		return uuid.Nil, ErrShipmentNotFound.WithDetail("%q is not a shipment id", c.Param("id"))
	}
	return id, nil
}
