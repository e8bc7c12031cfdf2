// Command qfeat writes the quality gate's measures of every photograph named
// on stdin (one path a line) as CSV: index, then one column per quality
// criterion (quality.Check, the values rounded to four significant digits
// as the report's quality section holds them; empty when not measured).
// train/diagnose/train.py --stack fits the cataract head's combination of
// the classifier's logit with these measures.
//
//	go run ./train/diagnose/qfeat < train/data/diagnose/list.txt > train/data/diagnose/quality.csv
package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/quality"
)

func main() {
	var paths []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if t := sc.Text(); t != "" {
			paths = append(paths, t)
		}
	}
	rows := make([]map[string]float64, len(paths))
	var names []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				img, err := fundus.Load(paths[i], fundus.Limits{})
				if err != nil {
					fmt.Fprintln(os.Stderr, "qfeat:", err)
					continue
				}
				a := quality.Check(img, quality.Options{})
				m := map[string]float64{}
				var order []string
				for _, c := range a.Quality.Criteria {
					if !c.Skipped {
						m[c.Name] = Sig(c.Value)
					}
					order = append(order, c.Name)
				}
				mu.Lock()
				rows[i] = m
				if len(order) > len(names) {
					names = order
				}
				mu.Unlock()
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprint(w, "index")
	for _, n := range names {
		fmt.Fprint(w, ",", n)
	}
	fmt.Fprintln(w)
	for i, m := range rows {
		fmt.Fprint(w, i)
		for _, n := range names {
			v, ok := m[n]
			if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				fmt.Fprint(w, ",", strconv.FormatFloat(v, 'g', -1, 64))
			} else {
				fmt.Fprint(w, ",")
			}
		}
		fmt.Fprintln(w)
	}
	w.Flush()
}

// Sig rounds v to four significant digits, as the report does.
func Sig(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	d := 3 - int(math.Floor(math.Log10(math.Abs(v))))
	d = max(d, 0)
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}
