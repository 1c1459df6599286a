package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/problem"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

func parsePages() (*template.Template, error) {
	t, err := template.New("pages").ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse templates: %w", err)
	}
	return t, nil
}

// The console's answers to requests it does not serve.
var (
	errUnauthenticated = problem.New(http.StatusUnauthorized, "unauthenticated", "The request carries no valid operator's token")
	errCrossSite       = problem.New(http.StatusForbidden, "cross_site", "The request does not come from the console's own page").
				WithDetail("send it from the page, or with the %s header", requestHeader)
	errUnreachable = problem.New(http.StatusBadGateway, "module_unreachable", "The module did not answer")
)

// mount serves the console's routes:
//
//	GET  /                 the dashboard, or the login form; ?trace= looks a trace up
//	POST /login            takes a pasted operator's token into a cookie
//	POST /logout           forgets it
//	GET  /live             the dashboard's live part, for the page's refresh
//	GET  /shadows          each shadow's effects held to its live module's; ?since=1h
//	POST /dead-letters/:module/:id/replay
//	GET  /static/*         the page's style and script
func mount(e *echo.Echo, c *console) {
	static, _ := fs.Sub(staticFiles, "static")
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", http.FileServer(http.FS(static)))))
	e.GET("/", c.dashboard)
	e.POST("/login", c.login)
	e.POST("/logout", c.logout)
	e.GET("/live", c.live)
	e.GET("/shadows", c.shadowsPage)
	e.POST("/dead-letters/:module/:id/replay", c.replayDeadLetter)
}

// view is what the templates are given.
type view struct {
	Error   string
	Token   bool // the page was reached with a token, so shows the dashboard
	Live    live
	Trace   *traceView
	TraceUI string
}

// live is the part of the dashboard the page refreshes.
type live struct {
	Map          template.HTML
	Modules      []moduleView
	DeadLetters  []deadLetter
	DeadProblems []string
	Topics       []topicFamily
	At           string
}

func (c *console) render(ctx echo.Context, status int, name string, data any) error {
	h := ctx.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	var b strings.Builder
	if err := c.pages.ExecuteTemplate(&b, name, data); err != nil {
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	return ctx.HTML(status, b.String())
}

func (c *console) dashboard(ctx echo.Context) error {
	token, ok := c.token(ctx.Request())
	if !ok {
		return c.render(ctx, http.StatusOK, "login.html", view{})
	}
	v := view{Token: true, Live: c.snapshot(ctx, token), TraceUI: c.traceUI}
	if q := ctx.QueryParam("trace"); q != "" {
		t := c.lookUpTrace(ctx.Request().Context(), q, c.serviceNames())
		v.Trace = &t
	}
	return c.render(ctx, http.StatusOK, "dashboard.html", v)
}

// snapshot asks every module what the dashboard shows of it.
func (c *console) snapshot(ctx echo.Context, token string) live {
	views := c.look(ctx.Request().Context(), token)
	dead, problems := c.deadLetters(ctx.Request().Context(), views, token)
	return live{Map: moduleMap(views), Modules: views, DeadLetters: dead, DeadProblems: problems,
		Topics: topicFamilies(views), At: c.now().UTC().Format("15:04:05Z")}
}

func (c *console) live(ctx echo.Context) error {
	token, ok := c.token(ctx.Request())
	if !ok {
		return errUnauthenticated
	}
	return c.render(ctx, http.StatusOK, "live", c.snapshot(ctx, token))
}

func (c *console) login(ctx echo.Context) error {
	token := strings.TrimSpace(ctx.FormValue("token"))
	token = strings.TrimSpace(strings.TrimPrefix(token, "Bearer "))
	if token == "" {
		return c.render(ctx, http.StatusBadRequest, "login.html", view{Error: "Paste an operator's token."})
	}
	if _, err := c.verify(token); err != nil {
		c.log.InfoContext(ctx.Request().Context(), "console login refused", "reason", err.Error())
		return c.render(ctx, http.StatusUnauthorized, "login.html", view{Error: "That is no valid operator's token (it may have expired)."})
	}
	setCookie(ctx, token)
	return ctx.Redirect(http.StatusSeeOther, "/")
}

func (c *console) logout(ctx echo.Context) error {
	clearCookie(ctx)
	return ctx.Redirect(http.StatusSeeOther, "/")
}

// replayDeadLetter replays a dead letter of a module with the operator's own
// token, and answers as the module did.
func (c *console) replayDeadLetter(ctx echo.Context) error {
	token, ok := c.token(ctx.Request())
	if !ok {
		return errUnauthenticated
	}
	if !sameOrigin(ctx.Request()) {
		return errCrossSite
	}
	module := ctx.Param("module")
	places := c.placements()
	var base string
	for _, p := range places {
		if p.Name == module && p.Database && len(p.Consumes) > 0 {
			base = p.URL
		}
	}
	id, err := strconv.ParseInt(ctx.Param("id"), 10, 64)
	if base == "" || err != nil || id <= 0 {
		return problem.ErrNotFound.WithDetail("no dead letter %q of a module %q that consumes and runs somewhere known", ctx.Param("id"), module)
	}
	var refused *replayError
	switch err := c.replay(ctx.Request().Context(), base, id, token); {
	case errors.Is(err, errNoDeadLetter):
		return problem.ErrNotFound.WithDetail("%s has no dead letter %d", module, id)
	case errors.As(err, &refused):
		return problem.ErrConflict.WithDetail("%s: %s", module, refused.why)
	case err != nil:
		return errUnreachable.WithDetail("%s: %v", module, err)
	}
	c.log.InfoContext(ctx.Request().Context(), "dead letter replayed", "target", module, "dead_letter", id)
	return ctx.JSON(http.StatusOK, map[string]any{"module": module, "replayed": id})
}

// serviceNames are the names the modules' spans carry: their own.
func (c *console) serviceNames() []string {
	var out []string
	for _, p := range c.placements() {
		out = append(out, p.Name)
	}
	return out
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }
