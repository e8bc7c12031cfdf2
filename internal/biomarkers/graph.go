package biomarkers

import (
	"image"
	"math"

	"github.com/retinalgpt/retinalgpt/internal/imgproc"
)

// Node is an end point or a branch point of the centreline graph.
type Node struct {
	// Pixels are the skeleton pixels merged into this node: one for an end
	// point, one or more 8-connected pixels with three or more skeleton
	// neighbours for a branch point.
	Pixels []image.Point
	// X, Y is the centroid of Pixels in pixel-centre coordinates.
	X, Y float64
	// Degree is the number of segment ends at the node (a loop counts
	// twice): 1 for an end point, 3 or more for a branch point.
	Degree int
}

// Segment is a centreline path between two nodes. Pixel coordinates are
// relative to the mask's Bounds().Min.
type Segment struct {
	// Points are skeleton pixels in path order, from a pixel of node From
	// to a pixel of node To, both included; consecutive points are
	// 8-neighbours.
	Points   []image.Point
	From, To int
}

// Graph is the centreline graph of a vessel mask.
type Graph struct {
	Nodes    []Node
	Segments []Segment
}

// Ends counts the end points (nodes of degree 1).
func (g *Graph) Ends() int { return g.countDegree(func(d int) bool { return d == 1 }) }

// Branches counts the branch points (nodes of degree 3 or more).
func (g *Graph) Branches() int { return g.countDegree(func(d int) bool { return d >= 3 }) }

func (g *Graph) countDegree(ok func(int) bool) int {
	n := 0
	for _, nd := range g.Nodes {
		if ok(nd.Degree) {
			n++
		}
	}
	return n
}

// BuildGraph turns a one-pixel-wide, 8-connected skeleton (as made by
// imgproc.Skeleton; non-zero = on) into a graph. Pixels with one neighbour
// are end points; pixels with three or more are branch pixels, and
// 8-adjacent node pixels merge into one node. Every other pixel lies on
// exactly one segment. A closed loop without any node gets a node of degree
// 2 at its first pixel in raster order. Isolated single pixels are dropped.
func BuildGraph(skel *image.Gray) *Graph {
	b := skel.Bounds()
	w, h := b.Dx(), b.Dy()
	on := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < w && y < h && skel.Pix[y*skel.Stride+x] != 0
	}
	// The skeleton is sparse: list its pixels once, in raster order, and
	// visit only them from here on.
	var pix []int32
	for y := 0; y < h; y++ {
		row := skel.Pix[y*skel.Stride : y*skel.Stride+w]
		for x, v := range row {
			if v != 0 {
				pix = append(pix, int32(y*w+x))
			}
		}
	}
	nb := make([]uint8, w*h)
	for _, i := range pix {
		x, y := int(i)%w, int(i)/w
		for _, d := range dirs8 {
			if on(x+d.X, y+d.Y) {
				nb[i]++
			}
		}
	}
	// Node pixels (one neighbour, or three and more) in 8-connected
	// clusters, numbered in raster order of their first pixel.
	isNode := func(i int) bool { n := nb[i]; return n != 2 && n != 0 }
	labels := make([]int32, w*h)
	nn := 0
	var queue []int
	for _, i0 := range pix {
		if labels[i0] != 0 || !isNode(int(i0)) {
			continue
		}
		nn++
		labels[i0] = int32(nn)
		queue = append(queue[:0], int(i0))
		for q := 0; q < len(queue); q++ {
			cx, cy := queue[q]%w, queue[q]/w
			for _, d := range dirs8 {
				nx, ny := cx+d.X, cy+d.Y
				if !on(nx, ny) {
					continue
				}
				if j := ny*w + nx; labels[j] == 0 && isNode(j) {
					labels[j] = int32(nn)
					queue = append(queue, j)
				}
			}
		}
	}
	g := &Graph{Nodes: make([]Node, nn)}
	for _, i := range pix {
		if l := labels[i]; l != 0 {
			nd := &g.Nodes[l-1]
			nd.Pixels = append(nd.Pixels, image.Point{int(i) % w, int(i) / w})
		}
	}
	for k := range g.Nodes {
		g.Nodes[k].X, g.Nodes[k].Y = centroid(g.Nodes[k].Pixels)
	}
	nodeAt := func(p image.Point) int { return int(labels[p.Y*w+p.X]) - 1 }
	visited := make([]bool, w*h)
	isPath := func(p image.Point) bool {
		return on(p.X, p.Y) && nb[p.Y*w+p.X] == 2 && labels[p.Y*w+p.X] == 0
	}
	// walk follows a path from node pixel start through first until it
	// reaches a node pixel, returning the ordered points.
	walk := func(start, first image.Point) ([]image.Point, int) {
		pts := []image.Point{start, first}
		visited[first.Y*w+first.X] = true
		prev, cur := start, first
		for {
			next, found := image.Point{}, false
			end := -1
			for _, d := range dirs8 {
				q := cur.Add(d)
				if q == prev || !on(q.X, q.Y) {
					continue
				}
				if isPath(q) {
					if !visited[q.Y*w+q.X] {
						next, found = q, true
						break
					}
					continue
				}
				if id := nodeAt(q); id >= 0 && end < 0 {
					end = id
					next = q
				}
			}
			if found {
				pts = append(pts, next)
				visited[next.Y*w+next.X] = true
				prev, cur = cur, next
				continue
			}
			if end >= 0 {
				return append(pts, next), end
			}
			return pts, -1 // cannot happen on a valid skeleton
		}
	}
	for id := range g.Nodes {
		for _, p := range g.Nodes[id].Pixels {
			for _, d := range dirs8 {
				q := p.Add(d)
				if !isPath(q) || visited[q.Y*w+q.X] {
					continue
				}
				pts, end := walk(p, q)
				if end < 0 {
					continue
				}
				g.addSegment(pts, id, end)
			}
		}
	}
	// Loops with no node: promote their first unvisited pixel.
	for _, i32 := range pix {
		i := int(i32)
		p := image.Point{i % w, i / w}
		if visited[i] || !isPath(p) {
			continue
		}
		id := len(g.Nodes)
		g.Nodes = append(g.Nodes, Node{Pixels: []image.Point{p}, X: float64(p.X) + 0.5, Y: float64(p.Y) + 0.5})
		visited[i] = true
		labels[i] = int32(id + 1)
		for _, d := range dirs8 {
			q := p.Add(d)
			if isPath(q) && !visited[q.Y*w+q.X] {
				if pts, end := walk(p, q); end == id {
					g.addSegment(pts, id, id)
				}
				break
			}
		}
	}
	return g
}

// addSegment records a segment unless it is a degenerate loop that never
// leaves its node (a pixel touching two pixels of one branch cluster).
func (g *Graph) addSegment(pts []image.Point, from, to int) {
	if from == to && len(pts) <= 3 {
		return
	}
	g.Segments = append(g.Segments, Segment{Points: pts, From: from, To: to})
	g.Nodes[from].Degree++
	g.Nodes[to].Degree++
}

var dirs8 = [8]image.Point{{1, 0}, {1, 1}, {0, 1}, {-1, 1}, {-1, 0}, {-1, -1}, {0, -1}, {1, -1}}

func centroid(ps []image.Point) (x, y float64) {
	for _, p := range ps {
		x += float64(p.X) + 0.5
		y += float64(p.Y) + 0.5
	}
	n := float64(len(ps))
	return x / n, y / n
}

// pixelLength is the 8-connected chain length of ordered points (1 per
// axial step, √2 per diagonal step).
func pixelLength(pts []image.Point) float64 {
	l := 0.0
	for i := 1; i < len(pts); i++ {
		d := pts[i].Sub(pts[i-1])
		l += math.Hypot(float64(d.X), float64(d.Y))
	}
	return l
}

// CentrelineGraph skeletonises mask (non-zero = vessel) and builds its
// graph, then prunes thinning spurs: a terminal segment (end point to
// branch point) shorter than 1.5·r + 3 px, where r is the distance from the
// branch point to the nearest background pixel, lies within the parent
// vessel's own cross-section and is an artefact of boundary noise rather
// than a vessel. At most one spur per branch point is removed per pass (the
// shortest), so a vessel end that thins into a small fork keeps one prong
// and its length; passes repeat until nothing changes (at most 5).
func CentrelineGraph(mask *image.Gray) *Graph {
	skel := imgproc.Skeleton(mask)
	for pass := 0; pass < 5; pass++ {
		g := BuildGraph(skel)
		best := map[int]int{} // branch node -> index of its shortest spur
		for si, s := range g.Segments {
			a, bn := s.From, s.To
			if g.Nodes[a].Degree != 1 {
				a, bn = bn, a
			}
			if g.Nodes[a].Degree != 1 || g.Nodes[bn].Degree < 3 {
				continue
			}
			r := radiusAt(mask, g.Nodes[bn].X, g.Nodes[bn].Y, 64)
			l := pixelLength(s.Points)
			if l >= 1.5*r+3 {
				continue
			}
			if j, ok := best[bn]; !ok || l < pixelLength(g.Segments[j].Points) {
				best[bn] = si
			}
		}
		if len(best) == 0 {
			return g
		}
		for bn, si := range best {
			for _, p := range g.Segments[si].Points {
				if !contains(g.Nodes[bn].Pixels, p) {
					skel.Pix[p.Y*skel.Stride+p.X] = 0
				}
			}
		}
		// Re-thin: removing a spur can leave a lump at the junction.
		skel = imgproc.Skeleton(skel)
	}
	return BuildGraph(skel)
}

func contains(ps []image.Point, p image.Point) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// radiusAt is the distance from (x, y), in pixel-centre coordinates, to the
// centre of the nearest background pixel of mask (pixels outside the image
// count as background), searched up to limit px.
func radiusAt(mask *image.Gray, x, y float64, limit int) float64 {
	b := mask.Bounds()
	w, h := b.Dx(), b.Dy()
	cx, cy := int(math.Floor(x)), int(math.Floor(y))
	best := float64(limit)
	for r := 0; r <= limit; r++ {
		// Every pixel on ring r is at least r-1 px away.
		if float64(r-1) > best {
			break
		}
		for dy := -r; dy <= r; dy++ {
			for dx := -r; dx <= r; dx++ {
				if max(abs(dx), abs(dy)) != r {
					continue
				}
				px, py := cx+dx, cy+dy
				if px >= 0 && py >= 0 && px < w && py < h && mask.Pix[py*mask.Stride+px] != 0 {
					continue
				}
				if d := math.Hypot(float64(px)+0.5-x, float64(py)+0.5-y); d < best {
					best = d
				}
			}
		}
	}
	return best
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
