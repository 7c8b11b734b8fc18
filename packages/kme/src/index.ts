/** ETSI GS QKD 014 KME simulator and QKD link model (issue 4); empty until then. */
export const KME_PACKAGE = '@qledger/kme';
