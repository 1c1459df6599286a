package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/apptest"
)

// The Prometheus server and its tool, as Debian's prometheus package installs
// them (CI installs it: .ci/run ensure_prometheus).
const (
	prometheusBinary = "/usr/bin/prometheus"
	promtoolBinary   = "/usr/bin/promtool"
)

// TestMetricsPrometheus has a real Prometheus scrape every module of a split
// deployment (one process per module, on NATS) on its internal /metrics:
// every target is up, every endpoint passes promtool's lint, and after a
// known load (deposits on an account a manager referred, each earning the
// manager a commission in im) Prometheus's own queries count it: what
// accounts' relay published, what im's consumer handled, the deposits
// accounts served, and no dead letter anywhere.
func TestMetricsPrometheus(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{prometheusBinary, promtoolBinary} {
		if _, err := os.Stat(tool); err != nil {
			t.Fatalf("%s is required (apt-get install prometheus; .ci/run installs it): %v", tool, err)
		}
	}
	c := cluster.StartTB(t, cluster.OnePerModule("metrics", cluster.NATSURL(), catalogue), config(""))
	prom := startPrometheus(t, c)

	var up int
	var err error
	pollEvery(t, 30*time.Second, 250*time.Millisecond, "Prometheus scraping every module, all up", func() bool {
		up, err = prom.targetsUp()
		return err == nil && up == len(catalogue.Names())
	})
	for _, m := range catalogue.Names() {
		lint(t, m, c.InternalURL(m)+"/metrics")
	}

	// The load: n deposits on an account a manager referred, n commissions.
	const n = 5
	r := referred(t, c, "MET")
	for i := range n {
		deposit(t, c.URL("accounts"), r.customer, r.account.ID, 1000, int64(1000*(i+1)))
	}
	waitCommissions(t, c.URL("im"), r.managerH, r.manager.ID, n)

	// accounts writes v2 and its relay publishes v1 too; im reads v2.
	const deposited, depositedV2 = `topic="accounts.funds_deposited.v1"`, `topic="accounts.funds_deposited.v2"`
	for query, want := range map[string]float64{
		`sum(uberservice_relay_published_total{module="accounts",` + deposited + `})`:                          n,
		`sum(uberservice_relay_published_total{module="accounts",` + depositedV2 + `})`:                        n,
		`sum(uberservice_consumer_handled_total{module="im",` + depositedV2 + `})`:                             n,
		`sum(uberservice_http_requests_total{module="accounts",route="/v1/accounts/:id/deposits",code="201"})`: n,
		`sum(uberservice_dead_letters)`:                              0,
		`count(uberservice_dead_letters{module="im"})`:               2, // retrying and dead, both 0
		`sum(uberservice_consumer_dead_lettered_total) or vector(0)`: 0, // a counter is born at its first
		`count(uberservice_build_info)`:                              float64(len(catalogue.Names())),
	} {
		var got float64
		var err error
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
			if got, err = prom.query(query); err == nil && got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("Prometheus: %s = %v (%v), want %v", query, got, err, want)
				break
			}
		}
	}
}

// prometheusServer is a Prometheus server of the test's own.
type prometheusServer struct{ base string }

// startPrometheus runs Prometheus scraping every module of c every second,
// storing in a temporary folder, and kills it when t ends.
func startPrometheus(t *testing.T, c *cluster.Cluster) prometheusServer {
	t.Helper()
	var targets []string
	for _, m := range catalogue.Names() {
		u, err := url.Parse(c.InternalURL(m))
		if err != nil || u.Host == "" {
			t.Fatalf("module %s has no internal address (%q): %v", m, c.InternalURL(m), err)
		}
		targets = append(targets, strconv.Quote(u.Host))
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: uberservice
    static_configs:
      - targets: [%s]
`, strings.Join(targets, ", "))), 0o644); err != nil {
		t.Fatal(err)
	}
	ports, err := cluster.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	var out bytes.Buffer
	cmd := exec.Command(prometheusBinary, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", prometheusBinary, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", tail(out.String()))
		}
	})
	p := prometheusServer{base: "http://" + addr}
	apptest.Eventually(t, 30*time.Second, "Prometheus ready", func() bool {
		res, err := http.Get(p.base + "/-/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return p
}

// targetsUp is how many of Prometheus's targets are up, once it scraped
// them all: an error names a target that is not.
func (p prometheusServer) targetsUp() (int, error) {
	var r struct {
		Data struct {
			ActiveTargets []struct {
				ScrapeURL string `json:"scrapeUrl"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/targets?state=active", &r); err != nil {
		return 0, err
	}
	up := 0
	for _, tg := range r.Data.ActiveTargets {
		if tg.Health != "up" {
			return up, fmt.Errorf("target %s is %s: %s", tg.ScrapeURL, tg.Health, tg.LastError)
		}
		up++
	}
	return up, nil
}

// query is the value of an instant query whose answer is one number.
func (p prometheusServer) query(q string) (float64, error) {
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/query?query="+url.QueryEscape(q), &r); err != nil {
		return 0, err
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("query %s: status %s, %d results, want one", q, r.Status, len(r.Data.Result))
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

func (p prometheusServer) get(path string, v any) error {
	res, err := http.Get(p.base + path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s %s", path, res.Status, body)
	}
	return json.Unmarshal(body, v)
}

// lint fails t unless promtool finds nothing to say of what module serves on
// url, in the text format Prometheus reads.
func lint(t *testing.T, module, url string) {
	t.Helper()
	res := apptest.Do(t, http.MethodGet, url, nil).Expect(t, http.StatusOK)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtoolBinary, "check", "metrics")
	cmd.Stdin = bytes.NewReader(res.Body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics on %s's /metrics: %v\n%s", module, err, out)
	}
}
