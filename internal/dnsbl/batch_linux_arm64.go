package dnsbl

const (
	sysRecvmmsg = 243
	sysSendmmsg = 269
)
