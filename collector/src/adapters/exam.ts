/**
 * Driving-exam records (考试系统成绩/过程记录), CSV with a header row, one row per exam sitting:
 *
 *   LSH SFZMHM DABH KSKM KSCX KCDM KSLX KCH KSKSSJ KSJSSJ KSCJ HGBJ KSY1 KSY1SFZMHM KSY2 JXDM RLBDXSD RGPD LXZSYS PXXS YQXS
 *
 * → kind 'exam', source 'exam': ywlx = KSKM (科目 '1'–'4', as the rule pack expects),
 * subject = SFZMHM (考生), licence = DABH + KSCX (准驾车型, the class examined), institution from
 * KCDM (考场代码, adapterOptions.institutionByCode), venue = KCDM itself (an exam centre — one
 * institution — runs several venues, and exam.examiner_two_venues tells them apart by it),
 * counter = KSLX (考试路线), deviceId = KCH (考试车),
 * staffId = KSY1 (考试员一) with KSY1SFZMHM → staffIdHash, startedAt/endedAt = KSKSSJ/KSJSSJ,
 * outcome from HGBJ ('1' 合格 pass, '0' 不合格 fail) or else from KSCJ against the pass mark
 * (科目一/三/四 90, 科目二 80); measurements: subject, score, faceMatchScore (RLBDXSD 人脸比对相似度),
 * manualJudgement (RGPD 人工评判 0/1), routeMinSeconds (LXZSYS), trainingHours (PXXS),
 * requiredHours (YQXS). A booking (no KSY1, no times) still maps, without examiner and times.
 * The second examiner (KSY2) has no field in the normalised transaction yet and is not sent.
 */
import { asRow, compact, fail, institutionOf, licenceClassOf, licenceRef, limit, mapWith, numberOf, ordered, personOf, required, staffHashOf, text, timeOf } from './common.js';
import type { Adapter, PendingTransaction } from './types.js';

const PASS_MARK: Readonly<Record<string, number>> = { '1': 90, '2': 80, '3': 90, '4': 90 };

export const examAdapter: Adapter = {
  name: 'exam',
  source: 'exam',
  format: 'csv',
  description: '驾驶人考试系统考试记录（科目、考试员、起止时间、成绩、考场、路线）',
  requiredColumns: ['LSH', 'SFZMHM', 'KSKM', 'KSKSSJ'],
  defaultChannel: 'institution',
  map(record, ctx) {
    return mapWith(() => {
      const row = asRow(record);
      const lsh = limit('LSH', required(row, 'LSH'), 32)!;
      const kskm = required(row, 'KSKM');
      if (!(kskm in PASS_MARK)) fail('KSKM', `'${kskm}' is not an exam subject (1–4)`);
      const subject = personOf(row, 'SFZMHM', ctx) ?? fail('SFZMHM', 'missing');
      const startedAt = timeOf(row, 'KSKSSJ', ctx);
      const endedAt = timeOf(row, 'KSJSSJ', ctx);
      ordered('KSKSSJ', startedAt, 'KSJSSJ', endedAt);
      const occurredAt = endedAt ?? startedAt ?? fail('KSKSSJ', 'missing');
      const score = numberOf(row, 'KSCJ');
      if (score !== undefined && (score < 0 || score > 100)) fail('KSCJ', `${score} is outside 0–100`);
      const hgbj = text(row, 'HGBJ');
      if (hgbj !== undefined && hgbj !== '0' && hgbj !== '1') fail('HGBJ', `'${hgbj}' is not 1 (合格) or 0 (不合格)`);
      const outcome: PendingTransaction['outcome'] =
        hgbj !== undefined ? (hgbj === '1' ? 'pass' : 'fail') : score !== undefined ? (score >= PASS_MARK[kskm]! ? 'pass' : 'fail') : undefined;
      const face = numberOf(row, 'RLBDXSD');
      if (face !== undefined && (face < 0 || face > 100)) fail('RLBDXSD', `${face} is outside 0–100`);
      const rgpd = text(row, 'RGPD');
      if (rgpd !== undefined && rgpd !== '0' && rgpd !== '1') fail('RGPD', `'${rgpd}' is not 0 or 1`);
      const measurements = compact({
        subject: Number(kskm),
        score,
        faceMatchScore: face,
        manualJudgement: rgpd === undefined ? undefined : Number(rgpd),
        routeMinSeconds: numberOf(row, 'LXZSYS'),
        trainingHours: numberOf(row, 'PXXS'),
        requiredHours: numberOf(row, 'YQXS'),
      } as Record<string, number | undefined>) as Record<string, number>;
      const dabh = limit('DABH', text(row, 'DABH'), 32);
      return [
        compact({
          source: 'exam',
          channel: ctx.options.channel ?? examAdapter.defaultChannel,
          institutionId: institutionOf(ctx, text(row, 'KCDM')),
          venue: limit('KCDM', text(row, 'KCDM'), 32),
          counter: limit('KSLX', text(row, 'KSLX'), 32),
          staffId: limit('KSY1', text(row, 'KSY1'), 64),
          staffIdHash: staffHashOf(row, 'KSY1SFZMHM', ctx),
          deviceId: limit('KCH', text(row, 'KCH'), 64),
          lsh,
          kind: 'exam' as const,
          ywlx: kskm,
          subject,
          licence: licenceRef(dabh, licenceClassOf(row, 'KSCX'), ctx),
          occurredAt,
          startedAt,
          endedAt,
          outcome,
          measurements,
        }),
      ];
    });
  },
};
