// Command prep writes the classifier inputs of train/diagnose/train.py:
// every photograph named on stdin (one path a line) cropped and resized
// exactly as the diagnose stage does in the product (fundus.DetectFOV, then
// fundus.NormalizeFOV to SIZE x SIZE), as raw RGB bytes, one SIZE*SIZE*3
// record per line of input, in input order, to OUT.u8; and OUT.csv with
// index,path,ok (ok 0: unreadable or no field of view; its record is zeros).
//
//	go run ./train/diagnose/prep -size 224 -out train/data/diagnose/idrid < list.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

func main() {
	size := flag.Int("size", 224, "side of the square classifier input")
	out := flag.String("out", "", "output prefix (writes PREFIX.u8 and PREFIX.csv)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: prep -out PREFIX [-size N] < paths.txt")
		os.Exit(2)
	}
	var paths []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if t := sc.Text(); t != "" {
			paths = append(paths, t)
		}
	}
	rec := *size * *size * 3
	buf := make([]byte, rec*len(paths))
	ok := make([]bool, len(paths))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ok[i] = crop(paths[i], *size, buf[i*rec:(i+1)*rec])
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := os.WriteFile(*out+".u8", buf, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "prep:", err)
		os.Exit(1)
	}
	f, err := os.Create(*out + ".csv")
	if err != nil {
		fmt.Fprintln(os.Stderr, "prep:", err)
		os.Exit(1)
	}
	bw := bufio.NewWriter(f)
	fmt.Fprintln(bw, "index,path,ok")
	bad := 0
	for i, p := range paths {
		o := 0
		if ok[i] {
			o = 1
		} else {
			bad++
		}
		fmt.Fprintf(bw, "%d,%s,%d\n", i, p, o)
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "prep:", err)
		os.Exit(1)
	}
	f.Close()
	fmt.Fprintf(os.Stderr, "prep: %d photographs, %d without a field of view\n", len(paths), bad)
}

func crop(path string, size int, dst []byte) bool {
	img, err := fundus.Load(path, fundus.Limits{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "prep:", err)
		return false
	}
	fov, err := fundus.DetectFOV(img.Pix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prep:", path, err)
		return false
	}
	n := fundus.NormalizeFOV(img, fov, size)
	RGB(n.Image.Pix, n.Image.Stride, size, dst)
	return true
}

// RGB copies an NRGBA raster's colour bytes (alpha dropped) into dst.
func RGB(pix []byte, stride, size int, dst []byte) {
	for y := 0; y < size; y++ {
		row := pix[y*stride:]
		for x := 0; x < size; x++ {
			copy(dst[(y*size+x)*3:(y*size+x)*3+3], row[x*4:x*4+3])
		}
	}
}
