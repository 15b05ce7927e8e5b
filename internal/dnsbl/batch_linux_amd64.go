package dnsbl

const (
	sysRecvmmsg = 299
	sysSendmmsg = 307
)
