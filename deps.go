//go:build tools

package wirewatch

// Pins the modules packages under construction import, so go mod tidy keeps
// them. Removed once every one is imported by real code.
import (
	_ "github.com/abadojack/whatlanggo"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/mmcdole/gofeed"
	_ "github.com/schollz/progressbar/v3"
	_ "golang.org/x/net/html"
	_ "golang.org/x/net/html/charset"
	_ "golang.org/x/text/encoding"
	_ "gopkg.in/yaml.v3"
)
