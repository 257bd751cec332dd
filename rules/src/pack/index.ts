/**
 * The built-in rule pack. Order here is evaluation order and hit order. Rule ids are a contract
 * with the collector's simulator (it injects anomalies that must trigger exactly these) and with
 * stored warnings: never rename an id, add a new rule instead.
 *
 * One file per family; each rule carries its Chinese name, description, basis ([src] value of a
 * deployed system vs [sugg] suggested default, domain.md §6), severity, action, parameters with
 * defaults and explanation templates. README.md lists them all.
 */
import type { RuleDefinitionInput } from '../engine/definition.js';
import { counterOffHours, counterLongWait, counterLongHandling, counterRefusal, counterRefusalsDaily, counterNoShowDaily, counterNoQueueRecord, counterIpNotWhitelisted, counterMacNotWhitelisted, counterConcurrentTerminals, counterSelfDealing, counterSensitiveBusiness, counterInstitutionSuspended, counterSpotCheck, counterOutputOutlier, COUNTER_RULES } from './counter.js';
import { agentFrequent, agentElderlyApplicant, agentBlacklisted, agentRedListOutsideOrg, agentPhoneShared, AGENT_RULES } from './agent.js';
import { vehicleFrequentTransfer, vehicleTransferAfterRegistration, vehicleFrequentReplacement, vehicleApprovalRevoked, vehicleDeregRestored, vehicleGoodPlateRepeat, vehicleTempPlateRepeat, vehicleTempPlateRegistered, vehicleFrequentChanges, VEHICLE_RULES } from './vehicle.js';
import { checkShortDuration, checkInspectorUnfiled, checkInspectorTwoLanes, checkPhotoReuse, checkRepeatedChecks, checkVinBlacklisted, checkReviewRejectionOutlier, CHECK_RULES } from './check.js';
import { inspectionShortTest, inspectionItemBelowMinimum, inspectionLineOverlap, inspectionOverCapacity, inspectionCalibrationExpired, inspectionIdenticalMeasurements, inspectionIdenticalMeasurementsLarge, inspectionDeviceUnfiled, inspectionPhotoReuse, inspectionNightTest, inspectionPhotoOutsideWindow, inspectionInsuranceMissing, inspectionStationSuspended, inspectionPassRateDeviation, INSPECTION_RULES } from './inspection.js';
import { examExaminerUnfiled, examIdentityMismatch, examShortDuration, examBelowRouteMinimum, examManualScoring, examExaminerTwoVenues, examInsufficientTraining, examVenuePassRate, examExaminerPassRate, EXAM_RULES } from './exam.js';
import { pointsLicenceMultiVehicle, pointsRepeatFullScore, pointsAgentManyLicences, pointsPhoneManyLicences, pointsIpManyLicences, POINTS_RULES } from './points.js';
import { medicalDoctorHourly, medicalOffHours, medicalDoctorUnfiled, MEDICAL_RULES } from './medical.js';
import { onlineAccountsPerDevice, onlineAccountsPerIp, ONLINE_RULES } from './online.js';

export { counterOffHours, counterLongWait, counterLongHandling, counterRefusal, counterRefusalsDaily, counterNoShowDaily, counterNoQueueRecord, counterIpNotWhitelisted, counterMacNotWhitelisted, counterConcurrentTerminals, counterSelfDealing, counterSensitiveBusiness, counterInstitutionSuspended, counterSpotCheck, counterOutputOutlier, COUNTER_RULES } from './counter.js';
export { agentFrequent, agentElderlyApplicant, agentBlacklisted, agentRedListOutsideOrg, agentPhoneShared, AGENT_RULES } from './agent.js';
export { vehicleFrequentTransfer, vehicleTransferAfterRegistration, vehicleFrequentReplacement, vehicleApprovalRevoked, vehicleDeregRestored, vehicleGoodPlateRepeat, vehicleTempPlateRepeat, vehicleTempPlateRegistered, vehicleFrequentChanges, VEHICLE_RULES } from './vehicle.js';
export { checkShortDuration, checkInspectorUnfiled, checkInspectorTwoLanes, checkPhotoReuse, checkRepeatedChecks, checkVinBlacklisted, checkReviewRejectionOutlier, CHECK_RULES } from './check.js';
export { inspectionShortTest, inspectionItemBelowMinimum, inspectionLineOverlap, inspectionOverCapacity, inspectionCalibrationExpired, inspectionIdenticalMeasurements, inspectionIdenticalMeasurementsLarge, inspectionDeviceUnfiled, inspectionPhotoReuse, inspectionNightTest, inspectionPhotoOutsideWindow, inspectionInsuranceMissing, inspectionStationSuspended, inspectionPassRateDeviation, INSPECTION_RULES } from './inspection.js';
export { examExaminerUnfiled, examIdentityMismatch, examShortDuration, examBelowRouteMinimum, examManualScoring, examExaminerTwoVenues, examInsufficientTraining, examVenuePassRate, examExaminerPassRate, EXAM_RULES } from './exam.js';
export { pointsLicenceMultiVehicle, pointsRepeatFullScore, pointsAgentManyLicences, pointsPhoneManyLicences, pointsIpManyLicences, POINTS_RULES } from './points.js';
export { medicalDoctorHourly, medicalOffHours, medicalDoctorUnfiled, MEDICAL_RULES } from './medical.js';
export { onlineAccountsPerDevice, onlineAccountsPerIp, ONLINE_RULES } from './online.js';

/** Pack release label; the engine version is `pack-${PACK_VERSION}-<hash of effective definitions>`. */
export const PACK_VERSION = '2026.12';

export const RULE_IDS = {
  counterOffHours: counterOffHours.id,
  counterLongWait: counterLongWait.id,
  counterLongHandling: counterLongHandling.id,
  counterRefusal: counterRefusal.id,
  counterRefusalsDaily: counterRefusalsDaily.id,
  counterNoShowDaily: counterNoShowDaily.id,
  counterNoQueueRecord: counterNoQueueRecord.id,
  counterIpNotWhitelisted: counterIpNotWhitelisted.id,
  counterMacNotWhitelisted: counterMacNotWhitelisted.id,
  counterConcurrentTerminals: counterConcurrentTerminals.id,
  counterSelfDealing: counterSelfDealing.id,
  counterSensitiveBusiness: counterSensitiveBusiness.id,
  counterInstitutionSuspended: counterInstitutionSuspended.id,
  counterSpotCheck: counterSpotCheck.id,
  counterOutputOutlier: counterOutputOutlier.id,
  agentFrequent: agentFrequent.id,
  agentElderlyApplicant: agentElderlyApplicant.id,
  agentBlacklisted: agentBlacklisted.id,
  agentRedListOutsideOrg: agentRedListOutsideOrg.id,
  agentPhoneShared: agentPhoneShared.id,
  vehicleFrequentTransfer: vehicleFrequentTransfer.id,
  vehicleTransferAfterRegistration: vehicleTransferAfterRegistration.id,
  vehicleFrequentReplacement: vehicleFrequentReplacement.id,
  vehicleApprovalRevoked: vehicleApprovalRevoked.id,
  vehicleDeregRestored: vehicleDeregRestored.id,
  vehicleGoodPlateRepeat: vehicleGoodPlateRepeat.id,
  vehicleTempPlateRepeat: vehicleTempPlateRepeat.id,
  vehicleTempPlateRegistered: vehicleTempPlateRegistered.id,
  vehicleFrequentChanges: vehicleFrequentChanges.id,
  checkShortDuration: checkShortDuration.id,
  checkInspectorUnfiled: checkInspectorUnfiled.id,
  checkInspectorTwoLanes: checkInspectorTwoLanes.id,
  checkPhotoReuse: checkPhotoReuse.id,
  checkRepeatedChecks: checkRepeatedChecks.id,
  checkVinBlacklisted: checkVinBlacklisted.id,
  checkReviewRejectionOutlier: checkReviewRejectionOutlier.id,
  inspectionShortTest: inspectionShortTest.id,
  inspectionItemBelowMinimum: inspectionItemBelowMinimum.id,
  inspectionLineOverlap: inspectionLineOverlap.id,
  inspectionOverCapacity: inspectionOverCapacity.id,
  inspectionCalibrationExpired: inspectionCalibrationExpired.id,
  inspectionIdenticalMeasurements: inspectionIdenticalMeasurements.id,
  inspectionIdenticalMeasurementsLarge: inspectionIdenticalMeasurementsLarge.id,
  inspectionDeviceUnfiled: inspectionDeviceUnfiled.id,
  inspectionPhotoReuse: inspectionPhotoReuse.id,
  inspectionNightTest: inspectionNightTest.id,
  inspectionPhotoOutsideWindow: inspectionPhotoOutsideWindow.id,
  inspectionInsuranceMissing: inspectionInsuranceMissing.id,
  inspectionStationSuspended: inspectionStationSuspended.id,
  inspectionPassRateDeviation: inspectionPassRateDeviation.id,
  examExaminerUnfiled: examExaminerUnfiled.id,
  examIdentityMismatch: examIdentityMismatch.id,
  examShortDuration: examShortDuration.id,
  examBelowRouteMinimum: examBelowRouteMinimum.id,
  examManualScoring: examManualScoring.id,
  examExaminerTwoVenues: examExaminerTwoVenues.id,
  examInsufficientTraining: examInsufficientTraining.id,
  examVenuePassRate: examVenuePassRate.id,
  examExaminerPassRate: examExaminerPassRate.id,
  pointsLicenceMultiVehicle: pointsLicenceMultiVehicle.id,
  pointsRepeatFullScore: pointsRepeatFullScore.id,
  pointsAgentManyLicences: pointsAgentManyLicences.id,
  pointsPhoneManyLicences: pointsPhoneManyLicences.id,
  pointsIpManyLicences: pointsIpManyLicences.id,
  medicalDoctorHourly: medicalDoctorHourly.id,
  medicalOffHours: medicalOffHours.id,
  medicalDoctorUnfiled: medicalDoctorUnfiled.id,
  onlineAccountsPerDevice: onlineAccountsPerDevice.id,
  onlineAccountsPerIp: onlineAccountsPerIp.id,
} as const;
export type BuiltInRuleId = (typeof RULE_IDS)[keyof typeof RULE_IDS];

export const DEFAULT_PACK: readonly RuleDefinitionInput[] = Object.freeze([
  ...COUNTER_RULES,
  ...AGENT_RULES,
  ...VEHICLE_RULES,
  ...CHECK_RULES,
  ...INSPECTION_RULES,
  ...EXAM_RULES,
  ...POINTS_RULES,
  ...MEDICAL_RULES,
  ...ONLINE_RULES,
]);
