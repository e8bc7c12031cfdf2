package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/infer/infertest"
)

// TestWebAppInBrowser drives the web app in a real Chromium through
// e2e/webapp.js (puppeteer-core): upload the bundled sample, wait for the
// findings, toggle a layer, ask a question and read the streamed answer,
// at a laptop's width and at 900 px. It needs node, Chromium and
// `npm ci --prefix e2e` (.ci/run installs them); without them it skips,
// unless RETINALGPT_REQUIRE_BROWSER=1 makes that a failure.
func TestWebAppInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and runs every model")
	}
	root, _ := filepath.Abs("../..")
	script := filepath.Join(root, "e2e", "webapp.js")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node"
	case !exists(chromium):
		missing = chromium
	case !exists(filepath.Join(root, "e2e", "node_modules", "puppeteer-core")):
		missing = "e2e/node_modules (npm ci --prefix e2e)"
	}
	if missing != "" {
		if os.Getenv("RETINALGPT_REQUIRE_BROWSER") == "1" {
			t.Fatalf("browser test needs %s", missing)
		}
		t.Skipf("browser test needs %s", missing)
	}
	an, err := analysis.New(analysis.Config{Runtime: infer.Config{Threads: 2}, Version: "test"})
	infertest.SkipIfMissing(t, err)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { an.Close() })
	_, ts := newTest(t, Config{Analyzer: an, Workers: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	shots := t.TempDir()
	cmd := exec.CommandContext(ctx, node, script, ts.URL+"/", filepath.Join(root, "assets", "sample", "idrid_055.jpg"), shots)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("web app in %s: %v\n%s", chromium, err, out)
	}
	t.Logf("%s", out)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
