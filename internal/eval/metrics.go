package eval

import (
	"math"
	"slices"
)

// Binary is a confusion matrix and the scores derived from it.
type Binary struct {
	TP, FP, TN, FN int64
}

// Add counts one pixel.
func (b *Binary) Add(pred, truth bool) {
	switch {
	case pred && truth:
		b.TP++
	case pred && !truth:
		b.FP++
	case !pred && truth:
		b.FN++
	default:
		b.TN++
	}
}

// Merge adds another matrix's counts.
func (b *Binary) Merge(o Binary) {
	b.TP += o.TP
	b.FP += o.FP
	b.TN += o.TN
	b.FN += o.FN
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// F1 (= Dice for binary masks).
func (b Binary) F1() float64 { return ratio(2*b.TP, 2*b.TP+b.FP+b.FN) }

// Accuracy is (TP+TN)/all.
func (b Binary) Accuracy() float64 { return ratio(b.TP+b.TN, b.TP+b.TN+b.FP+b.FN) }

// Sensitivity is TP/(TP+FN), the recall of vessel pixels.
func (b Binary) Sensitivity() float64 { return ratio(b.TP, b.TP+b.FN) }

// Specificity is TN/(TN+FP).
func (b Binary) Specificity() float64 { return ratio(b.TN, b.TN+b.FP) }

// Scored is a score with its ground truth, one per pixel.
type Scored struct {
	Score float32
	Truth bool
}

// AUC is the area under the ROC curve, computed exactly as the
// Mann-Whitney statistic with ties sharing their rank; it sorts s in place.
// It is NaN when either class is absent.
func AUC(s []Scored) float64 {
	slices.SortFunc(s, func(a, b Scored) int {
		switch {
		case a.Score < b.Score:
			return -1
		case a.Score > b.Score:
			return 1
		}
		return 0
	})
	var pos, neg int64
	var rankSum float64 // sum of the ranks (1-based) of positives
	for i := 0; i < len(s); {
		j := i
		var p int64
		for j < len(s) && s[j].Score == s[i].Score {
			if s[j].Truth {
				p++
			}
			j++
		}
		midRank := float64(i+j+1) / 2 // mean of ranks i+1..j
		rankSum += float64(p) * midRank
		pos += p
		neg += int64(j-i) - p
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - float64(pos)*float64(pos+1)/2) / (float64(pos) * float64(neg))
}
