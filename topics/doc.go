// Package topics is Wirewatch's topic language: boolean queries in the style
// of Meltwater and Talkwalker, compiled once into one matcher for all topics,
// and the default topic pack for conflict and diplomacy news.
//
// # Queries
//
//	ukraine               a word (case, diacritics and apostrophes folded by internal/fold)
//	"peace talks"         a phrase
//	negotiat*             a prefix wildcard (also inside phrases: "peace negotiat*")
//	a AND b, a b          both (adjacent terms are ANDed)
//	a OR b                either
//	NOT a, -a             not
//	a NEAR/n b            within n words (at most n words between), same field
//	a ONEAR/n b           the same, a first
//	title:x, text:x       only in the title, only in the text
//	source:bbc            the feed name contains the words
//	lang:en               the article's language (en matches en-US)
//
// Precedence, tightest first: NOT (and -), NEAR/ONEAR (left-associative),
// AND (written or implicit), OR. Operators are upper case. NEAR operands are
// terms, phrases, field-scoped terms, OR-groups of them or other NEARs. A
// query must contain a term that has to occur for it to match.
//
// Errors are *SyntaxError values giving file:line:col, the topic, what was
// expected and what was found.
//
// # Matching
//
// Compile (or Parse, LoadFile, Default) builds one matcher over every term of
// every topic: a byte trie over folded words and prefixes, and a trie over
// its atoms for phrases. Match makes one pass over the article's tokens. It
// evaluates only the topics that had a hit on a term they cannot match
// without, so the cost grows with the article, not with the number of
// topics. See Score for the scoring, and docs/topics.md for the whole
// reference.
package topics
