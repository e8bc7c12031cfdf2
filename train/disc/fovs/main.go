// Command fovs prints the field of view that fundus.DetectFOV finds in each
// photograph named on the command line, as CSV: image,cx,cy,radius (original
// pixels, continuous coordinates). train/disc/train.py crops exactly the
// square Go's fundus.Normalize crops, so the disc model sees at training
// time what it sees in the product.
//
//	go run ./train/disc/fovs ../shared/datasets/idrid/grading/images/*.jpg > fov.csv
package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fovs IMAGE... > fov.csv")
		os.Exit(2)
	}
	w := csv.NewWriter(os.Stdout)
	w.Write([]string{"image", "cx", "cy", "radius"})
	failed := 0
	for _, path := range os.Args[1:] {
		img, err := fundus.Load(path, fundus.Limits{})
		if err == nil {
			var fov fundus.FOV
			if fov, err = fundus.DetectFOV(img.Pix); err == nil {
				f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
				w.Write([]string{filepath.Base(path), f(fov.CX), f(fov.CY), f(fov.Radius)})
				continue
			}
		}
		// Keep going: one bad photo should not cost the whole list, but
		// the exit status says something was left out.
		fmt.Fprintf(os.Stderr, "fovs: %v\n", err)
		failed++
	}
	w.Flush()
	if err := w.Error(); err != nil {
		fmt.Fprintf(os.Stderr, "fovs: %v\n", err)
		os.Exit(1)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "fovs: %d of %d photographs had no field of view\n", failed, len(os.Args)-1)
		os.Exit(1)
	}
}
