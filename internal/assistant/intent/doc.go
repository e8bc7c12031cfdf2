// Package intent recognizes what a person asks about a fundus photograph:
// one Intent and its Slots (which measure, which vessel tree, which zone,
// which lesion or disease, which term to explain).
//
// The rules are a small, transparent scorer: the text is normalized (lower
// case, punctuation dropped, light plural stemming), each word that is not
// known is corrected to the nearest known word by edit distance
// (Damerau-Levenshtein, 1 edit for short words, 2 for long ones), then the
// longest known phrases are matched to concepts, and ordered rules over
// those concepts pick the intent and fill the slots. The question-type cues
// ("what does ... mean", "is that bad", "where") live here; the names of
// the things that can be asked about (measures, terms, lesions, diseases)
// come from the caller's Vocabulary, so a new measure in the assistant's
// registry is recognized without a change here.
//
// A Model (learn.go) adds a learned intent: a multinomial logistic
// regression over the rules' own reading (corrected tokens, word bigrams,
// character 3- to 5-grams, matched concepts), trained deterministically by
// Recognizer.Train. With SetModel, Recognize lets it decide the intent
// where the rules fell back (out of scope with no out-of-scope word, or the
// overview as a guess) and override them only when very sure (Blend).
// SlotModels (slots.go), trained the same way on the slot labels, fill a
// slot the final intent's answer needs where the rules left it empty, and
// replace a rule value only when very sure (SetSlotModels, SlotBlend).
//
// It imports only the standard library; it knows nothing of the Report.
package intent
