/** The device types, in a fixed order: a record's server index is its type's index here. */
export const DEVICE_TYPES = ['idfa', 'gaid', 'adid', 'dvid'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  /** `host:port`, as the user wrote it; used in every message about the server. */
  readonly label: string;
}
