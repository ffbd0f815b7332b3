/** The virtual BEEP potentiostat: device state machine, cell model, link, ptys, CLI. */
export { VirtualPotentiostat, type VirtualPotentiostatOptions, type DeviceStats } from './device.js';
export { ElectrochemicalCell, DEFAULT_CELL_PARAMS, type CellModel, type CellParams } from './cell.js';
export { AnalogFrontEnd, type FrontEndOptions } from './analog-front-end.js';
export { DeviceLink, type DeviceLinkOptions, type LinkCounters, type LinkTimers, type LinkEvent, type DisconnectReason } from './link.js';
export { PtyEndpoint, SimPacer, type PtyEndpointOptions, type PtyEvent } from './pty.js';
export { startSimulators, runSimCommand, type SimPtyKind, type SimulatorOptions, type SimulatorSet } from './run-sim.js';
export { DirectPtyFactory, type DirectPty } from './direct-pty.js';
