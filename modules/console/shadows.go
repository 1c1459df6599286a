package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/fitness"
)

// effectsTimeout bounds the read of one instance's effects: a query over a
// window, longer than a probe, but a page must not wait on it for ever.
const effectsTimeout = 10 * time.Second

// shadowsView is the shadows page: every shadow the console was told of
// (--shadow-peer), its effects in a window held to its live module's.
type shadowsView struct {
	Since   string // as asked: "1h", or an instant
	From    string // the window's start, as both sides were asked
	Error   string // a window that cannot be read
	Shadows []shadowView
	At      string
}

// shadowView is one shadow, compared with its live module, or why not.
type shadowView struct {
	Module, Name       string
	LiveURL, ShadowURL string
	Problems           []string // a side that could not be asked, which and why
	Effects            []fitness.EffectReport
}

// shadowsPage serves GET /shadows?since=1h: each side reads its own schema
// (GET /ops/effects, with the operator's token), the console compares them
// as `uberservice compare` does (fitness.Diff). Both are asked for the same
// instant, so that the window is the same on each side.
func (c *console) shadowsPage(ctx echo.Context) error {
	token, ok := c.token(ctx.Request())
	if !ok {
		return c.render(ctx, http.StatusOK, "login.html", view{})
	}
	now := c.now()
	v := shadowsView{Since: ctx.QueryParam("since"), At: now.UTC().Format("15:04:05Z")}
	if v.Since == "" {
		v.Since = "1h"
	}
	since, err := fitness.ParseSince(v.Since, now)
	if err != nil {
		v.Error = err.Error()
		return c.render(ctx, http.StatusBadRequest, "shadows.html", v)
	}
	v.From = since.Format(time.RFC3339)
	var peers []app.ShadowPeer
	if c.shadows != nil {
		peers = c.shadows()
	}
	v.Shadows = make([]shadowView, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() { v.Shadows[i] = c.compareShadow(ctx.Request().Context(), p, since, token) })
	}
	wg.Wait()
	return c.render(ctx, http.StatusOK, "shadows.html", v)
}

// Agrees reports whether every effect of v agrees (and there was no problem
// comparing them).
func (v shadowView) Agrees() bool {
	return len(v.Problems) == 0 && fitness.Report{Effects: v.Effects}.Agrees()
}

// compareShadow asks the shadow p for its effects since, then the live
// module for the same window (the shadow's, when its fork came later), and
// compares them; a side that does not answer is a
// problem the page names, never a failed page.
func (c *console) compareShadow(ctx context.Context, p app.ShadowPeer, since time.Time, token string) shadowView {
	v := shadowView{Module: p.Module, Name: p.Name, ShadowURL: p.URL}
	for _, pl := range c.placements() {
		if pl.Name == p.Module {
			v.LiveURL = pl.URL
		}
	}
	var live fitness.Snapshot
	var liveErr error
	// The shadow first: it answers from its fork when that came later than
	// since (its Since says so), and the live module is asked for the same
	// window, so that what happened before the shadow existed is compared on
	// neither side.
	shadow, shadowErr := c.effects(ctx, p.URL, p.Name, since, token)
	if shadowErr == nil && shadow.Since.After(since) {
		since = shadow.Since
	}
	if v.LiveURL == "" {
		liveErr = fmt.Errorf("it runs nowhere this console knows (give it --peer %s=URL)", p.Module)
	} else {
		live, liveErr = c.effects(ctx, v.LiveURL, "", since, token)
	}
	if liveErr != nil {
		v.Problems = append(v.Problems, fmt.Sprintf("live %s: %v", p.Module, liveErr))
	}
	if shadowErr != nil {
		v.Problems = append(v.Problems, fmt.Sprintf("shadow %s of %s: %v", p.Name, p.Module, shadowErr))
	}
	if len(v.Problems) == 0 {
		v.Effects = fitness.Diff(live.Effects, shadow.Effects)
	}
	return v
}

// effects GETs the snapshot of the instance at base, and checks that it is
// the one expected: a --shadow-peer that names the live module, or another
// shadow, would otherwise compare something with itself.
func (c *console) effects(ctx context.Context, base, shadow string, since time.Time, token string) (fitness.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, effectsTimeout)
	defer cancel()
	var s fitness.Snapshot
	status, body, err := c.get(ctx, base+app.EffectsPath+"?since="+url.QueryEscape(since.Format(time.RFC3339Nano)), token)
	switch {
	case err != nil:
		return s, err
	case status != http.StatusOK:
		return s, fmt.Errorf("effects: answered %d: %s", status, clip(string(body), 200))
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("effects: %w", err)
	}
	if s.Shadow != shadow {
		who := "the live module"
		if s.Shadow != "" {
			who = "shadow " + s.Shadow
		}
		return s, fmt.Errorf("%s answers as %s of %s", base, who, s.Module)
	}
	return s, nil
}
