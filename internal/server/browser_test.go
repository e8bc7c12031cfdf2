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
// e2e/webapp.js (playwright-core): upload the bundled sample, wait for the
// findings, toggle a layer, ask a question and read the streamed answer,
// check that the disc and zone B are highlighted on the image after
// questions about them, at a laptop's width and at 900 px. It needs node,
// Chromium and `npm ci --prefix e2e` (.ci/run installs them); without them
// it skips, unless RETINALGPT_REQUIRE_BROWSER=1 makes that a failure.
func TestWebAppInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and runs every model")
	}
	node, chromium, root := browserTools(t)
	an, err := analysis.New(analysis.Config{Runtime: infer.Config{Threads: 2}, Version: "test"})
	infertest.SkipIfMissing(t, err)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { an.Close() })
	_, ts := newTest(t, Config{Analyzer: an, Workers: 1})
	runWebApp(t, node, chromium, root, ts.URL, "full")
}

// TestWebAppFindingsInBrowser drives the web app against a server whose
// analyses are a hand-made report with lesions and diagnoses (no ONNX
// Runtime needed): the findings panel shows each diagnosis with its
// label, probability, threshold, evidence and caveat, and a question about
// haemorrhages draws every HE box of the report on the image.
func TestWebAppFindingsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	node, chromium, root := browserTools(t)
	_, ts := newTest(t, Config{Analyzer: &fake{file: lesionReport, mutate: handDiagnoses}, Workers: 1})
	runWebApp(t, node, chromium, root, ts.URL, "findings")
}

// browserTools finds node, Chromium and playwright-core, or skips.
func browserTools(t *testing.T) (node, chromium, root string) {
	t.Helper()
	root, _ = filepath.Abs("../..")
	chromium = os.Getenv("CHROMIUM")
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
	case !exists(filepath.Join(root, "e2e", "node_modules", "playwright-core")):
		missing = "e2e/node_modules (npm ci --prefix e2e)"
	}
	if missing != "" {
		if os.Getenv("RETINALGPT_REQUIRE_BROWSER") == "1" {
			t.Fatalf("browser test needs %s", missing)
		}
		t.Skipf("browser test needs %s", missing)
	}
	return node, chromium, root
}

// runWebApp runs e2e/webapp.js in mode against url with the bundled
// sample photo; screenshots go to RETINALGPT_SHOTS when set (else a
// temporary directory).
func runWebApp(t *testing.T, node, chromium, root, url, mode string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	shots := os.Getenv("RETINALGPT_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "e2e", "webapp.js"), url+"/", filepath.Join(root, "assets", "sample", "idrid_055.jpg"), shots, mode)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("web app (%s) in %s: %v\n%s", mode, chromium, err, out)
	}
	t.Logf("%s", out)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
