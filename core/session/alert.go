// SPDX-License-Identifier: MIT

package session

import "fmt"

// Alert levels and the descriptions the engine sends or names
// (RFC 5246 section 7.2, RFC 4279 section 2).
const (
	alertWarning = 1
	alertFatal   = 2

	alertCloseNotify          = 0
	alertUnexpectedMessage    = 10
	alertBadRecordMAC         = 20
	alertHandshakeFailure     = 40
	alertIllegalParameter     = 47
	alertDecodeError          = 50
	alertDecryptError         = 51
	alertProtocolVersion      = 70
	alertInsufficientSecurity = 71
	alertInternalError        = 80
	alertNoRenegotiation      = 100
	alertUnsupportedExtension = 110
	alertUnknownPSKIdentity   = 115
)

var alertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
	22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
	42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
	45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
	70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
	86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
	110: "unsupported_extension", 115: "unknown_psk_identity",
}

// AlertName returns the registry name of an alert description, such as
// "handshake_failure", or "alert 123" for one it does not know.
func AlertName(desc uint8) string {
	if n, ok := alertNames[desc]; ok {
		return n
	}
	return fmt.Sprintf("alert %d", desc)
}
