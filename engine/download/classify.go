package download

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"strconv"
	"syscall"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
)

// httpStatusError is a server's answer with an error status.
type httpStatusError struct {
	status int
}

func (e *httpStatusError) Error() string { return "the server answered HTTP " + strconv.Itoa(e.status) }

// classify turns a failed attempt's cause into the *engine.Error a person
// can act on: no connection (DNS, unreachable network), connection
// refused, timeout (including a stalled transfer), an HTTP error status,
// a TLS failure, or download_failed for anything else. An *engine.Error
// is returned as is.
func classify(err error, rawURL string) *engine.Error {
	var ee *engine.Error
	if errors.As(err, &ee) {
		return ee
	}
	host := ""
	if u, perr := url.Parse(rawURL); perr == nil {
		host = u.Hostname()
	}
	params := map[string]any{"host": host}
	mk := func(code, msg string) *engine.Error {
		return &engine.Error{Code: code, Params: params, Msg: msg, Err: err}
	}
	var dns *net.DNSError
	var hs *httpStatusError
	var cert *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &hs):
		params["status"] = hs.status
		return &engine.Error{Code: engine.CodeHTTP, Params: params, Msg: "the server answered HTTP " + strconv.Itoa(hs.status)}
	case errors.Is(err, errStalled):
		return mk(engine.CodeTimeout, "the download stalled: no data arrived for a while")
	case errors.As(err, &dns):
		return mk(engine.CodeNoConnection, "could not look up "+host+": check the internet connection")
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETDOWN):
		return mk(engine.CodeNoConnection, "the network is unreachable: check the internet connection")
	case errors.Is(err, syscall.ECONNREFUSED):
		return mk(engine.CodeConnectionRefused, host+" refused the connection")
	case errors.As(err, &cert), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recordErr):
		return mk(engine.CodeTLS, "the secure connection to "+host+" failed")
	case errors.As(err, &netErr) && netErr.Timeout():
		return mk(engine.CodeTimeout, host+" did not answer in time")
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return mk(engine.CodeDownload, "the connection to "+host+" was interrupted")
	}
	return mk(engine.CodeDownload, "download failed")
}
