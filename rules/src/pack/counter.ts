/** 窗口办理 (counter) family. */
import { defineRule } from '../engine/definition.js';

/** Business done at a counter or institution outside working hours, on a rest day or a holiday. */
export const counterOffHours = defineRule({
  id: 'counter.off_hours',
  kind: 'calendar',
  name: '非工作时间办理业务',
  family: 'counter',
  severity: 'medium',
  action: 'warn',
  description: '窗口或社会化机构在工作时间以外、休息日或法定节假日办理机动车、驾驶证、违法处理或查验业务',
  basis:
    'domain.md §6 窗口办理：工作时间以外/节假日办理业务（W）。工作时间为建议值 [sugg]：默认周一至周五08:00–18:00，' +
    '节假日与调休按国务院公布的2026年安排，可按部署配置',
  when: [
    { op: 'in', field: 'kind', values: ['vehicle', 'licence', 'violation', 'check'] },
    { op: 'in', field: 'channel', values: ['counter', 'institution'] },
  ],
  explain: {
    outside_hours: '业务办理时间{date} {time}（{weekday}），不在工作时间{period}内',
    holiday: '业务办理时间{date} {time}（{weekday}）为法定节假日',
    rest_day: '业务办理时间{date} {time}（{weekday}）为休息日',
  },
});

export const COUNTER_RULES = [counterOffHours] as const;
