/** The wire contracts live in the @jianguan/protocol package (hub/protocol/); re-exported for the hub's own modules. */
export * from '@jianguan/protocol/releases';
