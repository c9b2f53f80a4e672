"""Reference values for Metrics/PairedDifference.swift: the 95% interval of a difference of paired proportions
(Newcombe 1998, method 10; the "Newcombe square-and-add" interval of Fagerland, Lydersen & Laake, Stat Med 2014),
from the Wilson intervals of both margins and the phi correlation of the 2x2 table, and the paired test images a
drop's upper bound needs to fall within a budget. Plain Python, no packages. PairedDifferenceTests pins the printed
values. Run: python3 scripts/experiments/paired_interval.py
Table cells: a = right with both, b = right only without the defence, c = right only with it, d = wrong with both."""
import math
z=1.959963984540054
def wil(k,n):
    p=k/n; d=1+z*z/n; c=(p+z*z/(2*n))/d; h=z*math.sqrt(p*(1-p)/n+z*z/(4*n*n))/d
    return (0 if k==0 else c-h, 1 if k==n else c+h)
def paired(a,b,c,d):
    n=a+b+c+d; p1=(a+b)/n; p2=(a+c)/n; D=p1-p2
    l1,u1=wil(a+b,n); l2,u2=wil(a+c,n)
    den=(a+b)*(c+d)*(a+c)*(b+d)
    phi=0 if den==0 else (a*d-b*c)/math.sqrt(den)
    L=D-math.sqrt(max(0,(p1-l1)**2-2*phi*(p1-l1)*(u2-p2)+(u2-p2)**2))
    U=D+math.sqrt(max(0,(u1-p1)**2-2*phi*(u1-p1)*(p2-l2)+(p2-l2)**2))
    return D,L,U
for t in [(1,1,7,12),(18,2,1,10),(20,0,0,11),(10,5,3,13),(0,0,0,31)]:
    print(t, ["%.6f"%x for x in paired(*t)])

def needed(a,b,c,d,budget):
    n=a+b+c+d
    def fits(m):
        f=m/n; return paired(a*f,b*f,c*f,d*f)[2]<=budget
    if paired(a,b,c,d)[2]<=budget: return n
    hi=n
    while not fits(hi): hi*=2
    lo=hi/2
    while hi-lo>0.5:
        mid=(lo+hi)/2
        if fits(mid): hi=mid
        else: lo=mid
    return math.ceil(hi)
print("needed", needed(18,2,1,10,0.05), needed(20,0,0,11,0.02), needed(10,5,3,13,0.1))
