// Package static holds optin's stylesheet, script and images. They are
// embedded into the binary and served under /static/, which lets every page
// run under a "default-src 'self'" content security policy: no CDN, no
// inline script or style.
package static

import "embed"

// FS holds the assets at paths relative to this folder, such as
// "css/app.css", "js/app.js" and "img/favicon.svg".
//
//go:embed css js img
var FS embed.FS
