/** Browser UI (issue 7); empty until then. */
export const WEB_PACKAGE = '@qledger/web';
